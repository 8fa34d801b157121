/**
 * Semaphore: `golang.org/x/sync/semaphore.Weighted` on one item of the mesh table. Holders take
 * weights out of a fixed capacity; each holder's entry is a lease it renews by heartbeat, so the
 * weight of a holder that crashed is reclaimed once its lease expires. Format and costs:
 * docs/primitives/semaphore.md.
 *
 *   pk semaphore#<name>  sk sem
 *   capacity   N  fixed by the first participant; every participant must pass the same
 *   holders    M  holder token → M { w: N weight, until: N lease end (epoch ms) }
 *   used       N  the sum of the weights in `holders`, live or expired
 *   waiter, waiterWeight, waiterUntil   S N N   the intent of the acquirer at the head of the line
 *   wait#<askedAt>#<token>, queueUntil  N N     'fifo' mode: the queued waiters' tickets and the gate
 *   version    N  grows by 1 with every write to the item (optimistic concurrency)
 *   v          N  format version (1)
 *
 * Acquiring is one conditional UpdateItem that DynamoDB evaluates on its own:
 *
 *   SET holders.<token> = {w, until}  ADD used w
 *   if capacity = ours AND used <= capacity - w AND no entry for <token> AND the waiter intent is
 *   absent, ours, or expired
 *
 * `used` counts expired entries too, so it can only overstate what is held: the sum of live
 * weights never exceeds the capacity. When expired entries stand in the way, the acquirer
 * rewrites `holders` and `used` without them in one write conditioned on `version` being what it
 * read; every mutation, heartbeats included, adds 1 to `version`.
 *
 * `fairness: 'fifo'` (Go's order, first come first served) queues waiters with leased tickets
 * (queuedAcquire.ts); the grant is the write above: the queue decides who tries, never how much.
 */
import { type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import {
  LockLostError,
  LockNotHeldError,
  MeshConfigError,
  SemaphoreCapacityError,
  SemaphoreReleaseError,
  SemaphoreWeightError,
} from '../errors.ts';
import type { BackoffOptions } from '../internal/time.ts';
import { checkName, FORMAT_VERSION, keys, n, s } from '../table/layout.ts';
import { HeldLease } from './heldLease.ts';
import { HolderItem, type Update, versionCondition } from './holderItem.ts';
import { type Clock, decideAcquire, grantHolders, type Permit, readSemState, type SemState, totalWeight } from './holders.ts';
import { type LeaseOptions, type LeaseSettings, leaseSettings } from './lease.ts';
import type { SignalOptions } from './Mutex.ts';
import { type QueueOptions, queueSettings } from './mutexWaiter.ts';
import { type QueuedAcquireContext, queuedAcquire } from './queuedAcquire.ts';

export interface SemaphoreOptions extends LeaseOptions, QueueOptions {
  /** The DynamoDB client to use (the library never creates one). */
  client: DynamoDBClient;
  /** The mesh table. */
  tableName: string;
  /** The semaphore's name: every Semaphore with this name, anywhere, is the same semaphore. */
  name: string;
  /**
   * The total weight that may be held at once (Go: `semaphore.NewWeighted(capacity)`). Stored on
   * the item by the first participant; every participant must pass the same.
   */
  capacity: number;
  /** A label for this participant, recorded in its tokens (e.g. a worker id). @default a random UUID */
  owner?: string;
  /** How a waiting `acquire()` polls between attempts. @default { baseMs: 25, maxMs: 1000 } */
  backoff?: BackoffOptions;
}

/** Held weight. `await using held = await sem.acquire(2)` releases what is left of it at the end of the scope. */
export interface HeldPermits extends AsyncDisposable {
  readonly name: string;
  /** The token identifying this acquisition (`<owner>/<uuid>`), its key in the item's `holders`. */
  readonly owner: string;
  /** The weight still held by this acquisition (0 once released or lost). */
  readonly weight: number;
  /** Aborts with a LockLostError (fence 0) as soon as the lease is known to be lost. */
  readonly signal: AbortSignal;
  /** When the lease ends unless renewed (epoch ms, this process's clock). */
  readonly leaseUntil: number;
  /**
   * Releases `n` of the weight this acquisition holds (all of it by default); the lease goes on
   * for the rest. Go: `s.Release(n)`. Cost: 1 UpdateItem.
   * @throws SemaphoreReleaseError if `n` is more than it holds (Go panics)
   * @throws LockNotHeldError if it was released already, or its lease was lost meanwhile
   */
  release(n?: number, options?: SignalOptions): Promise<void>;
}

const NAMES = {
  '#capacity': 'capacity',
  '#holders': 'holders',
  '#used': 'used',
  '#waiter': 'waiter',
  '#waiterWeight': 'waiterWeight',
  '#waiterUntil': 'waiterUntil',
  '#version': 'version',
  '#v': 'v',
  '#w': 'w',
  '#until': 'until',
};

const isWeight = (value: number) => Number.isSafeInteger(value) && value > 0;

const permitValue = (permit: Permit): AttributeValue => ({ M: { w: n(permit.weight), until: n(permit.until) } });

/**
 * A weighted semaphore shared by every participant that names it.
 * Go: `golang.org/x/sync/semaphore.Weighted`.
 *
 * Differences from Go: every acquisition is a lease (its weight is reclaimed if not renewed in
 * time; never longer than `remainingTimeMs`), so it is released through its handle or through
 * this Semaphore; `acquire(n)` with n above the capacity fails at once instead of blocking
 * forever; weights are positive integers; waiting is polling with backoff. Like Go's queue, the
 * first acquirer that has to wait records an intent that keeps newcomers (and `tryAcquire`) from
 * overtaking it, so a large weight is not starved by a stream of small ones; behind it, waiters
 * are served in no particular order ('polling', the default), or in the order they asked
 * (`fairness: 'fifo'`: leased tickets on the item, Go's order).
 */
export class Semaphore {
  readonly name: string;
  readonly owner: string;
  readonly capacity: number;
  private readonly item: HolderItem;
  private readonly lease: LeaseSettings;
  private readonly backoff: BackoffOptions;
  private readonly held: PermitKeeper[] = [];
  /** Starvation mode's settings, and whether the last queued grant saw others queue. */
  private readonly queueing: Pick<QueuedAcquireContext, 'queue' | 'label' | 'queueSeen'>;

  /** @throws MeshConfigError on a missing client or table, a bad name or capacity, or bad lease options */
  constructor(options: SemaphoreOptions) {
    if (!options?.client) throw new MeshConfigError('Semaphore needs a DynamoDB client');
    if (!options.tableName) throw new MeshConfigError('Semaphore needs the mesh table name');
    this.name = checkName('semaphore', options.name);
    if (!isWeight(options.capacity))
      throw new MeshConfigError(`semaphore ${this.name}: capacity must be a positive integer, got ${options.capacity}`);
    this.capacity = options.capacity;
    this.owner = options.owner ?? randomUUID();
    this.item = new HolderItem(options.client, options.tableName, keys.semaphore(this.name), NAMES);
    this.lease = leaseSettings(options);
    this.backoff = options.backoff ?? {};
    this.queueing = { queue: queueSettings(options, this.lease), label: `semaphore ${this.name}`, queueSeen: { value: false } };
  }

  /**
   * Takes weight `n`, waiting until the live holders leave room for it. Go: `s.Acquire(ctx, n)`
   * (where Go blocks forever on n > capacity, this fails at once). In 'fifo' mode a waiter that has
   * waited `starvationMs` (or sees others queue) takes a ticket and is served in ticket order: a
   * waiter never overtakes one that asked before it, even when its weight would fit.
   *
   * Cost: 1 UpdateItem when there is room (2 on the very first use of the name, or when expired
   * holders must be cleared out). Waiting: 1 UpdateItem per poll, plus 1 to record the intent and
   * 1 to renew it every `heartbeatMs` ('fifo': a ticket, 1 per `ticketLeaseMs / 2`, 1 per look).
   * @throws SemaphoreWeightError if `n` is not a positive integer or is more than the capacity
   * @throws SemaphoreCapacityError if the semaphore's stored capacity differs from this one's
   * @throws MeshAbortError when `signal` aborts first (the intent is withdrawn, best effort)
   */
  async acquire(n: number, options: SignalOptions = {}): Promise<HeldPermits> {
    return (await this.acquireWeight(n, true, options.signal))!;
  }

  /**
   * One attempt: the held weight, or undefined if the live holders leave no room for it or
   * another acquirer is waiting first (or, in 'fifo' mode, queues). Go: `s.TryAcquire(n)`.
   * Cost: as `acquire` when there is room; 1 UpdateItem when there is none.
   * @throws SemaphoreWeightError if `n` is not a positive integer or is more than the capacity
   * @throws SemaphoreCapacityError if the semaphore's stored capacity differs from this one's
   */
  async tryAcquire(n: number, options: SignalOptions = {}): Promise<HeldPermits | undefined> {
    return this.acquireWeight(n, false, options.signal);
  }

  /**
   * Releases `n` of the weight this Semaphore holds (all of it by default), taken from its most
   * recent acquisitions first. Go: `s.Release(n)`. Cost: 1 UpdateItem per acquisition touched.
   * @throws SemaphoreReleaseError if `n` is more than this Semaphore holds (Go panics)
   * @throws LockNotHeldError if `n` is omitted and it holds nothing
   */
  async release(n?: number, options: SignalOptions = {}): Promise<void> {
    const holding = this.held.reduce((sum, permit) => sum + permit.weight, 0);
    if (n === undefined) {
      if (holding === 0) throw new LockNotHeldError(this.name, undefined, `semaphore ${this.name}: release with nothing held`);
      n = holding;
    }
    if (!isWeight(n))
      throw new SemaphoreWeightError(this.name, n, this.capacity, `semaphore ${this.name}: a weight is a positive integer, got ${n}`);
    if (n > holding) throw new SemaphoreReleaseError(this.name, n, holding);
    for (const permit of [...this.held].reverse()) {
      if (n === 0) break;
      const part = Math.min(n, permit.weight);
      await permit.release(part, options);
      n -= part;
    }
  }

  private async acquireWeight(weight: number, wait: boolean, signal: AbortSignal | undefined): Promise<PermitKeeper | undefined> {
    if (!isWeight(weight))
      throw new SemaphoreWeightError(
        this.name,
        weight,
        this.capacity,
        `semaphore ${this.name}: a weight is a positive integer, got ${weight}`,
      );
    if (weight > this.capacity) throw new SemaphoreWeightError(this.name, weight, this.capacity);
    const token = `${this.owner}/${randomUUID()}`;
    return queuedAcquire<SemState, PermitKeeper>(
      { item: this.item, lease: this.lease, backoff: this.backoff, token, wait, signal, ...this.queueing },
      {
        fastPath: (clock, until) => this.fastPath(token, weight, until, clock),
        readState: (item) => {
          const state = readSemState(item);
          if (state.exists && state.capacity !== this.capacity)
            throw new SemaphoreCapacityError(this.name, this.capacity, state.capacity ?? Number.NaN);
          return state;
        },
        decide: (state, clock, until) => decideAcquire(state, clock, weight, this.capacity, until - this.lease.heartbeatMs),
        fullWrite: (state, clock, until) => this.fullWrite(state, token, weight, until, clock),
        intentWrite: (clock, until) => this.intentWrite(token, weight, until, clock),
        grant: (until) => this.grant(token, weight, until),
        withdrawIntent: () => this.withdrawIntent(token),
      },
    );
  }

  private grant(token: string, weight: number, until: number): PermitKeeper {
    const held = new PermitKeeper(this.item, this.lease, this.name, token, weight, until, (keeper) => {
      const at = this.held.indexOf(keeper);
      if (at >= 0) this.held.splice(at, 1);
    });
    this.held.push(held);
    return held;
  }

  private fastPath(token: string, weight: number, until: number, clock: Clock): Update {
    return {
      update: 'SET #holders.#token = :permit, #v = :v REMOVE #waiter, #waiterWeight, #waiterUntil ADD #used :weight, #version :one',
      condition:
        '#capacity = :capacity AND #used <= :limit AND attribute_exists(#holders) AND attribute_not_exists(#holders.#token)' +
        ' AND (attribute_not_exists(#waiter) OR #waiter = :token OR #waiterUntil < :expiredBefore)',
      names: { '#token': token },
      values: {
        ':permit': permitValue({ weight, until }),
        ':v': n(FORMAT_VERSION),
        ':weight': n(weight),
        ':one': n(1),
        ':capacity': n(this.capacity),
        ':limit': n(this.capacity - weight),
        ':token': s(token),
        ':expiredBefore': n(clock.expiredBefore),
      },
    };
  }

  /** The grant that rewrites the holders (live ones plus this one) and `used`, if the item is as read. */
  private fullWrite(state: SemState, token: string, weight: number, until: number, clock: Clock): Update {
    const holders = grantHolders(state, token, { weight, until }, clock.expiredBefore);
    const { condition, values } = versionCondition(state.version);
    return {
      update:
        'SET #capacity = :capacity, #holders = :holders, #used = :used, #v = :v REMOVE #waiter, #waiterWeight, #waiterUntil ADD #version :one',
      condition,
      values: {
        ...values,
        ':capacity': n(this.capacity),
        ':holders': { M: Object.fromEntries([...holders].map(([holder, permit]) => [holder, permitValue(permit)])) },
        ':used': n(totalWeight(holders.values())),
        ':v': n(FORMAT_VERSION),
        ':one': n(1),
      },
    };
  }

  private intentWrite(token: string, weight: number, until: number, clock: Clock): Update {
    return {
      update: 'SET #waiter = :token, #waiterWeight = :weight, #waiterUntil = :until, #v = :v ADD #version :one',
      condition: '#capacity = :capacity AND (attribute_not_exists(#waiter) OR #waiter = :token OR #waiterUntil < :expiredBefore)',
      values: {
        ':token': s(token),
        ':weight': n(weight),
        ':until': n(until),
        ':v': n(FORMAT_VERSION),
        ':one': n(1),
        ':capacity': n(this.capacity),
        ':expiredBefore': n(clock.expiredBefore),
      },
    };
  }

  /** Best effort: an acquirer that gives up stops holding newcomers back at once, not at its intent's expiry. */
  private async withdrawIntent(token: string): Promise<void> {
    await this.item
      .attempt({
        update: 'REMOVE #waiter, #waiterWeight, #waiterUntil ADD #version :one',
        condition: '#waiter = :token',
        values: { ':token': s(token), ':one': n(1) },
      })
      .catch(() => undefined);
  }
}

/** Held weight, renewing its entry in `holders` until all of it is released or the lease is lost. */
class PermitKeeper extends HeldLease implements HeldPermits {
  /** Releases run one after another: each is conditioned on the weight the previous one left. */
  private releasing: Promise<unknown> = Promise.resolve();

  constructor(
    protected readonly item: HolderItem,
    settings: LeaseSettings,
    readonly name: string,
    readonly owner: string,
    private held: number, // the weight held
    leaseUntil: number,
    private readonly forget: (keeper: PermitKeeper) => void,
  ) {
    super(settings, leaseUntil);
    this.start();
  }

  get weight(): number {
    return this.ended ? 0 : this.held;
  }

  protected async renew(until: number, signal: AbortSignal): Promise<boolean> {
    const { applied } = await this.item.attempt(
      {
        update: 'SET #holders.#token.#until = :until ADD #version :one',
        condition: 'attribute_exists(#holders.#token)',
        names: { '#token': this.owner },
        values: { ':until': n(until), ':one': n(1) },
      },
      signal,
    );
    return applied;
  }

  protected lostError(reason: string, cause?: unknown): Error {
    return new LockLostError(this.name, 0, `semaphore permits: ${reason}`, { cause });
  }

  protected onEnd(): void {
    this.forget(this);
  }

  protected releaseAll(): Promise<void> {
    return this.release();
  }

  release(n?: number, options: SignalOptions = {}): Promise<void> {
    const next = this.releasing.then(() => this.releaseNow(n, options));
    this.releasing = next.catch(() => undefined);
    return next;
  }

  private async releaseNow(weight: number | undefined, options: SignalOptions): Promise<void> {
    this.throwIfEnded(`semaphore ${this.name}: release of permits not held`);
    const held = this.held;
    weight ??= held;
    if (!isWeight(weight))
      throw new SemaphoreWeightError(this.name, weight, held, `semaphore ${this.name}: a weight is a positive integer, got ${weight}`);
    if (weight > held) throw new SemaphoreReleaseError(this.name, weight, held);
    const left = held - weight;
    // Conditioned on the weight we hold, so a retried attempt never subtracts twice from `used`.
    const ours = {
      condition: '#holders.#token.#w = :held',
      names: { '#token': this.owner },
      values: { ':held': n(held), ':minus': n(-weight), ':left': n(left), ':one': n(1) },
    };
    if (left > 0) {
      const { applied, item } = await this.item.attempt(
        { update: 'SET #holders.#token.#w = :left ADD #used :minus, #version :one', ...ours },
        options.signal,
      );
      // Refused with our entry already at `left`: an earlier attempt of this call was applied.
      if (!applied && readSemState(item).holders?.get(this.owner)?.weight !== left) {
        this.lose('its entry was gone at release');
        throw new LockNotHeldError(this.name, undefined, `semaphore ${this.name}: permits were lost before release`);
      }
      this.held = left;
      this.wakeWaiters(); // room made: a waiter of this process looks at once
      return;
    }
    // While the lease is valid by our clock nobody may clear our entry: if it is gone, an earlier
    // attempt of this very call removed it (its answer was lost), and the release succeeded.
    const trusted = this.valid();
    this.end();
    try {
      const { applied } = await this.item.attempt(
        { update: 'REMOVE #holders.#token ADD #used :minus, #version :one', ...ours },
        options.signal,
      );
      if (!applied && !trusted)
        throw new LockNotHeldError(this.name, undefined, `semaphore ${this.name}: permits were lost before release`);
    } finally {
      this.held = 0;
      this.released(`semaphore ${this.name}: permits were released`);
    }
  }
}
