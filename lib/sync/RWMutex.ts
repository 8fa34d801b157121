/**
 * RWMutex: Go's `sync.RWMutex` on one item of the mesh table: many readers or one writer, each
 * holding a lease it renews by heartbeat; writers get fencing tokens; a waiting writer is not
 * starved by a stream of readers. Format and costs: docs/primitives/rwmutex.md.
 *
 *   pk rwmutex#<name>  sk lock
 *   readers             M   reader token → lease end (epoch ms); each reader expires on its own
 *   writer, writerUntil S N the write holder and its lease end
 *   fence               N   grows by 1 with every write grant
 *   writerWaiting, writerWaitingUntil   S N   a waiting writer's intent: no new readers while live
 *   version             N   grows by 1 with every write to the item (optimistic concurrency)
 *   releasedBy          S   the last writer token that unlocked (makes unlock idempotent)
 *   v                   N   format version (1)
 *   wait#<askedAt>#<token>[#r], queueUntil  N N  'fifo' mode: queued waiters' tickets (#r: a reader's), the gate
 *
 * Every step is one conditional UpdateItem whose condition DynamoDB can evaluate on its own:
 *
 *   rLock    SET readers.<token>  REMOVE an expired writer or intent
 *            if readers exists and no live writer and no live writer intent
 *   lock     SET writer, writerUntil, readers = {}  REMOVE intent  ADD fence 1
 *            if no live writer, size(readers) = 0, and the intent is absent, ours, or expired
 *   intent   SET writerWaiting, writerWaitingUntil   if no live writer and no other live intent
 *
 * A refused write returns the item; only when expired readers must be cleared out (a condition
 * cannot look into a map's values) does the acquirer rewrite the map with a write conditioned on
 * `version` being what it read. Every mutation, heartbeats included, adds 1 to `version`, so
 * such a write can never clear a reader that renewed or joined after the read. The acquirers'
 * writes are built in rwMutexWrites.ts, the decisions between them in holders.ts.
 *
 * `fairness: 'fifo'` queues waiting readers and writers with leased tickets, as the Mutex's
 * starvation mode does (queuedAcquire.ts): a writer goes when its ticket is the
 * oldest live one, a reader when only readers' tickets are ahead of it (readers queued together
 * go in together). The grants are the writes above, so the queue decides who tries, never who holds.
 */
import { type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { type LockHolder, LockLostError, LockNotHeldError, MeshConfigError } from '../errors.ts';
import type { BackoffOptions } from '../internal/time.ts';
import { checkName, type Item, keys, n, readNumber, s } from '../table/layout.ts';
import { HeldLease } from './heldLease.ts';
import { HolderItem } from './holderItem.ts';
import { decideRead, decideWrite, readRwState, type RwState } from './holders.ts';
import { type LeaseOptions, type LeaseSettings, leaseSettings } from './lease.ts';
import type { HeldLock, SignalOptions } from './Mutex.ts';
import { type QueueOptions, queueSettings } from './mutexWaiter.ts';
import { type QueuedAcquireContext, queuedAcquire } from './queuedAcquire.ts';
import { intentWrite, readFastPath, readFullWrite, RW_NAMES, writeFastPath, writeFullWrite } from './rwMutexWrites.ts';

export interface RWMutexOptions extends LeaseOptions, QueueOptions {
  /** The DynamoDB client to use (the library never creates one). */
  client: DynamoDBClient;
  /** The mesh table. */
  tableName: string;
  /** The lock's name: every RWMutex with this name, anywhere, is the same lock. */
  name: string;
  /** A label for this participant, recorded in its tokens (e.g. a worker id). @default a random UUID */
  owner?: string;
  /** How a waiting `lock()`/`rLock()` polls between attempts. @default { baseMs: 25, maxMs: 1000 } */
  backoff?: BackoffOptions;
}

/**
 * A held read lock. `await using held = await rw.rLock()` releases it at the end of the scope.
 * Read locks carry no fencing token: only writers write.
 */
export interface HeldReadLock extends AsyncDisposable {
  readonly name: string;
  /** The token identifying this acquisition (`<owner>/<uuid>`), its key in the item's `readers`. */
  readonly owner: string;
  /** Aborts with a LockLostError (fence 0) as soon as the lease is known to be lost. */
  readonly signal: AbortSignal;
  /** When the lease ends unless renewed (epoch ms, this process's clock). */
  readonly leaseUntil: number;
  /**
   * Releases this read lock. Cost: 1 UpdateItem.
   * @throws LockNotHeldError if it was released already, or its lease was lost meanwhile
   */
  unlock(options?: SignalOptions): Promise<void>;
}

/** The write holder recorded on an RWMutex item, if any (for error reports). */
function writerOf(item: Item | undefined): LockHolder | undefined {
  const state = readRwState(item);
  return state.writer && { owner: state.writer.token, fence: state.fence, leaseUntil: state.writer.until };
}

/**
 * A reader/writer lock shared by every participant that names it. Go: `sync.RWMutex`.
 *
 * Differences from Go: locks are leases (lost, and `signal` aborted, if not renewed in time;
 * never longer than `remainingTimeMs`); a write grant carries a fencing token; waiting is polling
 * with backoff, not FIFO ('polling', the default). Like Go, a writer that waits blocks new readers
 * (its intent is itself a lease, so a crashed waiting writer stops blocking them once it
 * expires); unlike Go, a reader waiting on a held write lock is not guaranteed to get in before
 * the next writer, unless `fairness: 'fifo'`: then waiters are served in the order they asked.
 */
export class RWMutex {
  readonly name: string;
  readonly owner: string;
  private readonly item: HolderItem;
  private readonly lease: LeaseSettings;
  private readonly backoff: BackoffOptions;
  /** Starvation mode's settings, and whether the last queued grant saw others queue. */
  private readonly queueing: Pick<QueuedAcquireContext, 'queue' | 'label' | 'queueSeen'>;
  private writeHeld: WriteKeeper | undefined;
  private readonly readsHeld: ReadKeeper[] = [];

  /** @throws MeshConfigError on a missing client or table, a bad name, or bad lease options */
  constructor(options: RWMutexOptions) {
    if (!options?.client) throw new MeshConfigError('RWMutex needs a DynamoDB client');
    if (!options.tableName) throw new MeshConfigError('RWMutex needs the mesh table name');
    this.name = checkName('lock', options.name);
    this.owner = options.owner ?? randomUUID();
    this.item = new HolderItem(options.client, options.tableName, keys.rwMutex(this.name), RW_NAMES);
    this.lease = leaseSettings(options);
    this.backoff = options.backoff ?? {};
    this.queueing = { queue: queueSettings(options, this.lease), label: `rwmutex ${this.name}`, queueSeen: { value: false } };
  }

  /**
   * Takes the write lock, waiting while a writer or any reader holds it. While readers hold it,
   * records this writer's intent, which keeps new readers out until it has taken (and released)
   * the lock. Go: `rw.Lock()`.
   *
   * Cost: 1 UpdateItem when free. Waiting: 1 UpdateItem per poll, plus 1 to record the intent and
   * 1 to renew it every `heartbeatMs`; 1 more when expired readers must be cleared out.
   * @throws MeshAbortError when `signal` aborts first (the intent is withdrawn, best effort)
   */
  async lock(options: SignalOptions = {}): Promise<HeldLock> {
    return (await this.acquire('write', true, options.signal)) as WriteKeeper;
  }

  /**
   * One attempt at the write lock: the held lock, or undefined if a writer or reader holds it or
   * another writer waits for it. Never records an intent. Go: `rw.TryLock()`.
   * Cost: 1 UpdateItem; 2 when expired readers must be cleared out.
   */
  async tryLock(options: SignalOptions = {}): Promise<HeldLock | undefined> {
    return (await this.acquire('write', false, options.signal)) as WriteKeeper | undefined;
  }

  /**
   * Releases the write lock this RWMutex holds. Go: `rw.Unlock()`. Cost: 1 UpdateItem.
   * @throws LockNotHeldError if this RWMutex does not hold it (never locked, or the lease was lost)
   */
  async unlock(options: SignalOptions = {}): Promise<void> {
    const held = this.writeHeld;
    if (!held) throw new LockNotHeldError(this.name, undefined, `Unlock of unlocked RWMutex ${this.name}`);
    await held.unlock(options);
  }

  /**
   * Takes a read lock, waiting while a writer holds the lock or waits for it. Go: `rw.RLock()`.
   * Cost: 1 UpdateItem (2 on the very first use of the name). Waiting: 1 UpdateItem per poll.
   * @throws MeshAbortError when `signal` aborts first
   */
  async rLock(options: SignalOptions = {}): Promise<HeldReadLock> {
    return (await this.acquire('read', true, options.signal)) as ReadKeeper;
  }

  /**
   * One attempt at a read lock: undefined if a writer holds the lock or waits for it.
   * Go: `rw.TryRLock()`. Cost: 1 UpdateItem (2 on the very first use of the name).
   */
  async tryRLock(options: SignalOptions = {}): Promise<HeldReadLock | undefined> {
    return (await this.acquire('read', false, options.signal)) as ReadKeeper | undefined;
  }

  /**
   * Releases a read lock this RWMutex holds (the most recent, if it holds several).
   * Go: `rw.RUnlock()`. Cost: 1 UpdateItem.
   * @throws LockNotHeldError if this RWMutex holds no read lock (never taken, or lost)
   */
  async rUnlock(options: SignalOptions = {}): Promise<void> {
    const held = this.readsHeld.at(-1);
    if (!held) throw new LockNotHeldError(this.name, undefined, `RUnlock of unlocked RWMutex ${this.name}`);
    await held.unlock(options);
  }

  private async acquire(
    mode: 'read' | 'write',
    wait: boolean,
    signal: AbortSignal | undefined,
  ): Promise<ReadKeeper | WriteKeeper | undefined> {
    const token = `${this.owner}/${randomUUID()}`;
    return queuedAcquire<RwState, ReadKeeper | WriteKeeper>(
      {
        item: this.item,
        lease: this.lease,
        backoff: this.backoff,
        token,
        wait,
        signal,
        ...this.queueing,
        shared: mode === 'read',
        exclusive: mode === 'write',
      },
      {
        fastPath: (clock, until) => (mode === 'read' ? readFastPath(token, until, clock) : writeFastPath(token, until, clock)),
        readState: readRwState,
        decide: (state, clock, until) =>
          mode === 'read' ? decideRead(state, clock) : decideWrite(state, clock, until - this.lease.heartbeatMs),
        fullWrite: (state, clock, until) =>
          mode === 'read' ? readFullWrite(state, token, until, clock) : writeFullWrite(state, token, until),
        intentWrite: (clock, until) => intentWrite(token, until, clock),
        grant: (until, item) => this.grant(mode, token, until, item),
        withdrawIntent: () => this.withdrawIntent(token),
      },
    );
  }

  private grant(mode: 'read' | 'write', token: string, until: number, item: Item | undefined): ReadKeeper | WriteKeeper {
    if (mode === 'read') {
      const held = new ReadKeeper(this.item, this.lease, this.name, token, until, (keeper) => this.forgetRead(keeper));
      this.readsHeld.push(held);
      return held;
    }
    const fence = readNumber(item, 'fence');
    if (fence === undefined) throw new Error(`RWMutex ${this.name}: the write grant carried no fence`);
    const held = new WriteKeeper(this.item, this.lease, this.name, token, fence, until, (keeper) => {
      if (this.writeHeld === keeper) this.writeHeld = undefined;
    });
    this.writeHeld = held;
    return held;
  }

  private forgetRead(keeper: ReadKeeper): void {
    const at = this.readsHeld.lastIndexOf(keeper);
    if (at >= 0) this.readsHeld.splice(at, 1);
  }

  /** Best effort: a writer that gives up stops keeping readers out at once, not at its intent's expiry. */
  private async withdrawIntent(token: string): Promise<void> {
    await this.item
      .attempt({
        update: 'REMOVE #writerWaiting, #writerWaitingUntil ADD #version :one',
        condition: '#writerWaiting = :token',
        values: { ':token': s(token), ':one': n(1) },
      })
      .catch(() => undefined);
  }
}

/** A held read lock, renewing its entry in `readers` until released or lost. */
class ReadKeeper extends HeldLease implements HeldReadLock {
  constructor(
    protected readonly item: HolderItem,
    settings: LeaseSettings,
    readonly name: string,
    readonly owner: string,
    leaseUntil: number,
    private readonly forget: (keeper: ReadKeeper) => void,
  ) {
    super(settings, leaseUntil);
    this.start();
  }

  protected async renew(until: number, signal: AbortSignal): Promise<boolean> {
    const { applied } = await this.item.attempt(
      {
        update: 'SET #readers.#token = :until ADD #version :one',
        condition: 'attribute_exists(#readers.#token)',
        names: { '#token': this.owner },
        values: { ':until': n(until), ':one': n(1) },
      },
      signal,
    );
    return applied;
  }

  protected lostError(reason: string, cause?: unknown): Error {
    return new LockLostError(this.name, 0, `read lock: ${reason}`, { cause });
  }

  protected onEnd(): void {
    this.forget(this);
  }

  protected releaseAll(): Promise<void> {
    return this.unlock();
  }

  async unlock(options: SignalOptions = {}): Promise<void> {
    this.throwIfEnded(`RUnlock of unlocked RWMutex ${this.name}`);
    // While the lease is valid by our clock nobody may clear our entry: if it is gone, an earlier
    // attempt of this very call removed it (its answer was lost), and the release succeeded.
    const trusted = this.valid();
    this.end();
    try {
      const { applied, item } = await this.item.attempt(
        {
          update: 'REMOVE #readers.#token ADD #version :one',
          condition: 'attribute_exists(#readers.#token)',
          names: { '#token': this.owner },
          values: { ':one': n(1) },
        },
        options.signal,
      );
      if (!applied && !trusted) throw new LockNotHeldError(this.name, writerOf(item), `read lock ${this.name} was lost before RUnlock`);
    } finally {
      this.released(`read lock ${this.name} was released`);
    }
  }
}

/** A held write lock, renewing `writerUntil` until released or lost. */
class WriteKeeper extends HeldLease implements HeldLock {
  constructor(
    protected readonly item: HolderItem,
    settings: LeaseSettings,
    readonly name: string,
    readonly owner: string,
    readonly fence: number,
    leaseUntil: number,
    private readonly forget: (keeper: WriteKeeper) => void,
  ) {
    super(settings, leaseUntil);
    this.start();
  }

  private get ours(): { condition: string; values: Record<string, AttributeValue> } {
    return {
      condition: '#writer = :token AND #fence = :fence',
      values: { ':token': s(this.owner), ':fence': n(this.fence), ':one': n(1) },
    };
  }

  protected async renew(until: number, signal: AbortSignal): Promise<boolean> {
    const { applied } = await this.item.attempt(
      {
        update: 'SET #writerUntil = :until ADD #version :one',
        ...this.ours,
        values: { ...this.ours.values, ':until': n(until) },
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

  protected releaseAll(): Promise<void> {
    return this.unlock();
  }

  async unlock(options: SignalOptions = {}): Promise<void> {
    this.throwIfEnded(`Unlock of unlocked RWMutex ${this.name}`);
    // As for RUnlock: while the lease is valid by our clock, a refusal means our own release was
    // applied by an attempt whose answer was lost (another writer may have come and gone since).
    const trusted = this.valid();
    this.end();
    try {
      const { applied, item } = await this.item.attempt(
        { update: 'REMOVE #writer, #writerUntil SET #releasedBy = :token ADD #version :one', ...this.ours },
        options.signal,
      );
      // Our own release, applied by an attempt whose answer was lost, is a success.
      if (!applied && !trusted && item?.releasedBy?.S !== this.owner) {
        throw new LockNotHeldError(this.name, writerOf(item), `write lock ${this.name} (fence ${this.fence}) was lost before unlock`);
      }
    } finally {
      this.released(`write lock ${this.name} was released`);
    }
  }
}
