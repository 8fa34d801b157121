/**
 * Mutex: Go's `sync.Mutex` as a lease on one item of the mesh table, with fencing tokens.
 *
 * Every step is one conditional UpdateItem on the lock item (format in docs/item-format.md):
 *
 *   lock      SET owner, leaseUntil  ADD fence 1   if no owner, or its lease expired, or the owner is us
 *                                                  ('fifo' mode, not queued: and no live queue)
 *   heartbeat SET leaseUntil                      if owner = us
 *   unlock    REMOVE owner, leaseUntil SET releasedBy = us   if owner = us
 *
 * A waiter in 'fifo' mode (Go's starvation mode; opt-in) queues with a leased ticket on the
 * same item after `starvationMs` and is granted in ticket order (mutexQueue.ts, mutexWaiter.ts);
 * the queue only decides who tries, the condition above still decides who holds.
 *
 * `us` is a token made for each acquisition (so it names one grant, and one fence, by itself), so a retried acquire whose first attempt was applied
 * (the response was lost) finds itself as the owner and succeeds instead of waiting for its own
 * lease, and an unlock whose first attempt was applied finds `releasedBy = us`: ambiguous outcomes
 * neither lose nor leak the lock. The fence only grows (ADD), so every grant carries a larger
 * token than any before it; pass it to `fencedUpdate`/`fencedPut` to protect the writes you make
 * under the lock (a paused holder whose lease was taken over is refused).
 */
import { type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { type LockHolder, LockLostError, LockNotHeldError, MeshConfigError } from '../errors.ts';
import { type BackoffOptions, backoffMs, sleep, throwIfAborted } from '../internal/time.ts';
import { checkName, checkVersion, type Item, keys, n, readNumber, readString, s } from '../table/layout.ts';
import { HeldLease } from './heldLease.ts';
import { type Attempt, HolderItem, type Update } from './holderItem.ts';
import { expiredBefore, leaseEnd, type LeaseOptions, type LeaseSettings, leaseSettings, msUntilTakeover } from './lease.ts';
import { GrantPace } from './grantPace.ts';
import type { LocalWakeups } from './localWakeups.ts';
import { type LockState, mutexLockState, othersQueue, QUEUE_UNTIL, type WaiterView } from './mutexQueue.ts';
import {
  FREE,
  GATE_OPEN,
  GRANT,
  grantValues,
  type QueuedLock,
  type QueueOptions,
  type QueueSettings,
  queueSettings,
  waitInQueue,
} from './mutexWaiter.ts';

export type { Fairness } from './mutexWaiter.ts';

export interface MutexOptions extends LeaseOptions, QueueOptions {
  /** The DynamoDB client to use (the library never creates one). */
  client: DynamoDBClient;
  /** The mesh table. */
  tableName: string;
  /** The lock's name: every Mutex with this name, anywhere, is the same lock. */
  name: string;
  /** A label for this participant, recorded as the holder (e.g. a worker id). @default a random UUID */
  owner?: string;
  /** How a waiting `lock()` polls between attempts (before it queues, or always in 'polling' mode). @default { baseMs: 25, maxMs: 1000 } */
  backoff?: BackoffOptions;
}

export interface SignalOptions {
  /** Aborts the operation (e.g. `AbortSignal.timeout(5000)`); rejects with MeshAbortError. */
  signal?: AbortSignal;
}

/** A held lock. `await using held = await mutex.lock()` releases it at the end of the scope. */
export interface HeldLock extends AsyncDisposable {
  readonly name: string;
  /** The token identifying this acquisition (`<owner>/<uuid>`). */
  readonly owner: string;
  /** The fencing token: larger than that of every earlier holder of this lock. */
  readonly fence: number;
  /** Aborts with a LockLostError as soon as the lease is known to be lost: pass it to your work. */
  readonly signal: AbortSignal;
  /** When the lease ends unless renewed (epoch ms, this process's clock). */
  readonly leaseUntil: number;
  /** Releases the lock. @throws LockNotHeldError if the lease was lost meanwhile */
  unlock(options?: SignalOptions): Promise<void>;
}

const NAMES = {
  '#o': 'owner',
  '#f': 'fence',
  '#l': 'leaseUntil',
  '#r': 'releasedBy',
  '#v': 'v',
  '#q': QUEUE_UNTIL,
};

/** The holder recorded on a lock item, if its owner attribute is set. */
export function holderOf(item: Item | undefined): LockHolder | undefined {
  checkVersion(item);
  const owner = readString(item, 'owner');
  if (owner === undefined) return undefined;
  return { owner, fence: readNumber(item, 'fence') ?? 0, leaseUntil: readNumber(item, 'leaseUntil') ?? 0 };
}

export class Mutex implements QueuedLock<HeldLock> {
  readonly name: string;
  readonly owner: string;
  private readonly item: HolderItem;
  private readonly lease: LeaseSettings;
  private readonly backoff: BackoffOptions;
  private readonly queue: QueueSettings;
  private current: HeldMutexLock | undefined;
  /** @internal Whether this Mutex's last grant saw other waiters queue (its next lock() queues at once). */
  queueSeen = false;
  /** @internal How fast grants of this lock go by, as this Mutex has seen them. */
  readonly pace = new GrantPace();

  constructor(options: MutexOptions) {
    if (!options?.client) throw new MeshConfigError('Mutex needs a DynamoDB client');
    if (!options.tableName) throw new MeshConfigError('Mutex needs the mesh table name');
    this.name = checkName('lock', options.name);
    this.owner = options.owner ?? randomUUID();
    this.item = new HolderItem(options.client, options.tableName, keys.mutex(this.name), NAMES);
    this.lease = leaseSettings(options);
    this.backoff = options.backoff ?? {};
    this.queue = queueSettings(options, this.lease);
  }

  /**
   * Takes the lock, waiting while someone else holds it. Go: `mu.Lock()`.
   *
   * `fairness: 'fifo'`: a waiter polls like 'polling' for its first `starvationMs`, then
   * (or at once, if others already queue) takes a ticket on the lock item and is granted the lock
   * in ticket order (mutexQueue.ts); newcomers queue behind live tickets instead of barging.
   * `'polling'` (default): polls with jittered backoff and ignores the queue (the behaviour before
   * starvation mode). Neither waits longer than until the holder's lease could have expired
   * (plus the clock-skew bound).
   * Cost: 1 UpdateItem when free; while waiting, 1 per poll (queued: a ticket, its renewals and
   * the head's polls).
   * @throws MeshAbortError when `signal` aborts first
   */
  async lock(options: SignalOptions = {}): Promise<HeldLock> {
    const token = `${this.owner}/${randomUUID()}`;
    if (this.queue.fairness === 'polling') return this.pollingLock(token, options.signal);
    return waitInQueue(this, token, this.lease.now(), options.signal);
  }

  private async pollingLock(token: string, signal: AbortSignal | undefined): Promise<HeldLock> {
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(signal);
      const outcome = await this.acquire(token);
      if ('unlock' in outcome) return outcome;
      const untilTakeover = msUntilTakeover(this.lease, outcome.leaseUntil);
      await sleep(Math.min(untilTakeover, backoffMs(attempt, this.backoff)) + 1, signal);
    }
  }

  /**
   * One attempt: the held lock, or undefined if someone else holds it (or, in 'fifo' mode, other
   * waiters queue for it). Go: `mu.TryLock()`. Cost: 1 UpdateItem.
   */
  async tryLock(options: SignalOptions = {}): Promise<HeldLock | undefined> {
    throwIfAborted(options.signal); // its one write, once sent, is not cut short (HolderItem.grant)
    const outcome = await this.acquire(`${this.owner}/${randomUUID()}`);
    return 'unlock' in outcome ? outcome : undefined;
  }

  /**
   * Releases the lock this Mutex holds. Go: `mu.Unlock()`. Cost: 1 UpdateItem.
   * @throws LockNotHeldError if this Mutex does not hold it (never locked, or the lease was lost)
   */
  async unlock(options: SignalOptions = {}): Promise<void> {
    const held = this.current;
    if (!held) throw new LockNotHeldError(this.name, undefined, `unlock of unlocked lock ${this.name}`);
    await held.unlock(options);
  }

  /** @internal The fast path: a grant if the lock is free (and, in 'fifo' mode, nobody queues). */
  async acquire(token: string, refused?: (item: Item | undefined) => void): Promise<HeldLock | LockHolder> {
    const now = this.lease.now();
    const until = leaseEnd(this.lease, now);
    const fifo = this.queue.fairness === 'fifo';
    const { applied, item } = await this.item.grant({
      operation: `mutex ${this.name}: lock`,
      update: GRANT,
      condition: fifo ? `(${FREE}) AND ${GATE_OPEN}` : FREE,
      values: grantValues(token, until, expiredBefore(this.lease, now)),
      returnNew: true,
    });
    if (applied) return this.held(token, until, item);
    // A grant of ours applied by an attempt whose answer was lost (the gate can refuse the retry
    // that the `OR owner = :t` clause alone would let through): ours, with the fence it got.
    if (readString(item, 'owner') === token) return this.held(token, readNumber(item, 'leaseUntil') ?? until, item);
    refused?.(item);
    // The loser learns the holder from the failed write itself: no second read.
    return holderOf(item) ?? { owner: '(unknown)', fence: 0, leaseUntil: now };
  }

  /** @internal */
  async write(update: Update, signal: AbortSignal | undefined): Promise<Attempt> {
    return this.item.attempt(update, signal);
  }

  /** @internal A queued waiter's newcomer attempt. */
  async attempt(token: string, _signal: AbortSignal | undefined, refused: (item: Item | undefined) => void): Promise<HeldLock | undefined> {
    const outcome = await this.acquire(token, refused); // the waiter checks its signal before each attempt
    return 'unlock' in outcome ? outcome : undefined;
  }

  /** @internal */
  lockState(item: Item | undefined, view: WaiterView): LockState {
    return mutexLockState(item, view);
  }

  /** @internal A queued waiter's grant: the fast path's, without the gate (the queue adds its removals). */
  grantUpdate(_item: Item | undefined, token: string, until: number, expired: number): Update {
    return { update: GRANT, condition: FREE, values: grantValues(token, until, expired), returnNew: true };
  }

  /** @internal */
  get label(): string {
    return `mutex ${this.name}`;
  }

  /** @internal */
  get wakeups(): LocalWakeups {
    return this.item.wakeups;
  }

  /** @internal One holder at a time: a grant leaves nothing for the next waiter (its unlock wakes it). */
  readonly exclusive = true;

  /** @internal The held lock of a grant whose item (ALL_NEW, or refused with us as owner) is `item`. */
  held(token: string, until: number, item: Item | undefined): HeldMutexLock {
    const expired = expiredBefore(this.lease, this.lease.now());
    this.queueSeen = othersQueue(item, token, expired);
    this.pace.observe(readNumber(item, 'fence'), this.lease.now());
    const fence = readNumber(item, 'fence');
    if (fence === undefined) throw new Error(`lock ${this.name}: the grant carried no fence`);
    const held = new HeldMutexLock(this.item, this.lease, this.name, token, fence, until, (released) => {
      if (this.current === released) this.current = undefined;
    });
    this.item.wakeups.holding(token);
    this.current = held;
    return held;
  }

  /** @internal */
  get settings(): { lease: LeaseSettings; backoff: BackoffOptions; queue: QueueSettings } {
    return { lease: this.lease, backoff: this.backoff, queue: this.queue };
  }
}

/** A held lock, renewing its lease in the background (heartbeat.ts) until released or lost. */
class HeldMutexLock extends HeldLease implements HeldLock {
  constructor(
    protected readonly item: HolderItem,
    settings: LeaseSettings,
    readonly name: string,
    readonly owner: string,
    readonly fence: number,
    leaseUntil: number,
    private readonly forget: (held: HeldMutexLock) => void,
  ) {
    super(settings, leaseUntil);
    this.start();
  }

  protected async renew(until: number, signal: AbortSignal): Promise<boolean> {
    // Only this grant: its token is minted per `lock()` call, so it names one fence as well.
    const { applied } = await this.item.attempt(
      {
        operation: `mutex ${this.name}`,
        update: 'SET #l = :u',
        condition: '#o = :t',
        values: { ':t': s(this.owner), ':u': n(until) },
      },
      signal,
    );
    return applied;
  }

  protected lostError(reason: string, cause?: unknown): Error {
    return new LockLostError(this.name, this.fence, reason, { cause });
  }

  protected onEnd(): void {
    this.forget(this);
  }

  protected override wakeWaiters(): void {
    this.item.wakeups.released(this.owner);
  }

  protected releaseAll(): Promise<void> {
    return this.unlock();
  }

  async unlock(options: SignalOptions = {}): Promise<void> {
    this.throwIfEnded(`unlock of unlocked lock ${this.name}`);
    // While the lease is valid by our clock nobody else may take the lock: a refusal then means an
    // earlier attempt of this very call released it (its answer was lost), even if another holder
    // has come and gone since, so that `releasedBy` names them.
    const trusted = this.valid();
    this.end();
    try {
      const { applied, item } = await this.item.attempt(
        {
          operation: `mutex ${this.name}`,
          update: 'REMOVE #o, #l SET #r = :t',
          condition: '#o = :t',
          values: { ':t': s(this.owner) },
        },
        options.signal,
      );
      // Our own release, applied by an attempt whose answer was lost, is a success.
      if (!applied && !trusted && readString(item, 'releasedBy') !== this.owner)
        throw new LockNotHeldError(this.name, holderOf(item), `lock ${this.name} (fence ${this.fence}) was lost before unlock`);
    } finally {
      this.released(`lock ${this.name} was released`);
    }
  }
}
