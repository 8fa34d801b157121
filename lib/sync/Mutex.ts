/**
 * Mutex: Go's `sync.Mutex` as a lease on one item of the mesh table, with fencing tokens.
 *
 * Every step is one conditional UpdateItem on the lock item (format in docs/item-format.md):
 *
 *   lock      SET owner, leaseUntil  ADD fence 1   if no owner, or its lease expired, or the owner is us
 *   heartbeat SET leaseUntil                      if owner = us
 *   unlock    REMOVE owner, leaseUntil SET releasedBy = us   if owner = us
 *
 * `us` is a token made for each acquisition (so it names one grant, and one fence, by itself), so a retried acquire whose first attempt was applied
 * (the response was lost) finds itself as the owner and succeeds instead of waiting for its own
 * lease, and an unlock whose first attempt was applied finds `releasedBy = us`: ambiguous outcomes
 * neither lose nor leak the lock. The fence only grows (ADD), so every grant carries a larger
 * token than any before it; pass it to `fencedUpdate`/`fencedPut` to protect the writes you make
 * under the lock (a paused holder whose lease was taken over is refused).
 */
import { type AttributeValue, ConditionalCheckFailedException, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { type LockHolder, LockLostError, LockNotHeldError, MeshConfigError } from '../errors.ts';
import { type BackoffOptions, backoffMs, callOptions, sleep, throwIfAborted } from '../internal/time.ts';
import { retryConflicts } from '../internal/conflicts.ts';
import { checkName, checkVersion, FORMAT_VERSION, type Item, type Key, keys, n, readNumber, readString, s } from '../table/layout.ts';
import { LeaseKeeper } from './heartbeat.ts';
import { expiredBefore, leaseEnd, type LeaseOptions, type LeaseSettings, leaseSettings, msUntilTakeover } from './lease.ts';

export interface MutexOptions extends LeaseOptions {
  /** The DynamoDB client to use (the library never creates one). */
  client: DynamoDBClient;
  /** The mesh table. */
  tableName: string;
  /** The lock's name: every Mutex with this name, anywhere, is the same lock. */
  name: string;
  /** A label for this participant, recorded as the holder (e.g. a worker id). @default a random UUID */
  owner?: string;
  /** How a waiting `lock()` polls between attempts. @default { baseMs: 25, maxMs: 1000 } */
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
  '#owner': 'owner',
  '#fence': 'fence',
  '#leaseUntil': 'leaseUntil',
  '#releasedBy': 'releasedBy',
  '#v': 'v',
};

/** The holder recorded on a lock item, if its owner attribute is set. */
export function holderOf(item: Item | undefined): LockHolder | undefined {
  checkVersion(item);
  const owner = readString(item, 'owner');
  if (owner === undefined) return undefined;
  return { owner, fence: readNumber(item, 'fence') ?? 0, leaseUntil: readNumber(item, 'leaseUntil') ?? 0 };
}

export class Mutex {
  readonly name: string;
  readonly owner: string;
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly key: Key;
  private readonly lease: LeaseSettings;
  private readonly backoff: BackoffOptions;
  private current: HeldMutexLock | undefined;

  constructor(options: MutexOptions) {
    if (!options?.client) throw new MeshConfigError('Mutex needs a DynamoDB client');
    if (!options.tableName) throw new MeshConfigError('Mutex needs the mesh table name');
    this.name = checkName('lock', options.name);
    this.owner = options.owner ?? randomUUID();
    this.client = options.client;
    this.tableName = options.tableName;
    this.key = keys.mutex(this.name);
    this.lease = leaseSettings(options);
    this.backoff = options.backoff ?? {};
  }

  /**
   * Takes the lock, waiting while someone else holds it: polls with jittered backoff, and never
   * waits longer than until the holder's lease could have expired (plus the clock-skew bound).
   * Go: `mu.Lock()`. Cost: 1 UpdateItem when free; 1 per poll while waiting.
   * @throws MeshAbortError when `signal` aborts first
   */
  async lock(options: SignalOptions = {}): Promise<HeldLock> {
    const token = `${this.owner}/${randomUUID()}`;
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(options.signal);
      const outcome = await this.acquire(token, options.signal);
      if ('unlock' in outcome) return outcome;
      const untilTakeover = msUntilTakeover(this.lease, outcome.leaseUntil);
      await sleep(Math.min(untilTakeover, backoffMs(attempt, this.backoff)) + 1, options.signal);
    }
  }

  /**
   * One attempt: the held lock, or undefined if someone else holds it. Go: `mu.TryLock()`.
   * Cost: 1 UpdateItem.
   */
  async tryLock(options: SignalOptions = {}): Promise<HeldLock | undefined> {
    const outcome = await this.acquire(`${this.owner}/${randomUUID()}`, options.signal);
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

  private async acquire(token: string, signal: AbortSignal | undefined): Promise<HeldLock | LockHolder> {
    const now = this.lease.now();
    const until = leaseEnd(this.lease, now);
    try {
      const { Attributes } = await retryConflicts(`mutex ${this.name}: lock`, signal, () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: this.key,
            UpdateExpression: 'SET #owner = :token, #leaseUntil = :until, #v = :v ADD #fence :one',
            ConditionExpression: 'attribute_not_exists(#owner) OR #leaseUntil < :expiredBefore OR #owner = :token',
            ExpressionAttributeNames: {
              '#owner': NAMES['#owner'],
              '#leaseUntil': NAMES['#leaseUntil'],
              '#v': NAMES['#v'],
              '#fence': NAMES['#fence'],
            },
            ExpressionAttributeValues: {
              ':token': s(token),
              ':until': n(until),
              ':v': n(FORMAT_VERSION),
              ':one': n(1),
              ':expiredBefore': n(expiredBefore(this.lease, now)),
            },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
          callOptions(signal),
        ),
      );
      const fence = readNumber(Attributes, 'fence');
      if (fence === undefined) throw new Error(`lock ${this.name}: the grant carried no fence`);
      const held = new HeldMutexLock(this, token, fence, until);
      this.current = held;
      return held;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        // The loser learns the holder from the failed write itself: no second read.
        return holderOf(err.Item) ?? { owner: '(unknown)', fence: 0, leaseUntil: now };
      }
      throw err;
    }
  }

  /** @internal */
  send(command: UpdateItemCommand, signal?: AbortSignal) {
    return retryConflicts(`mutex ${this.name}`, signal, () => this.client.send(command, callOptions(signal)));
  }

  /** @internal */
  get settings(): LeaseSettings {
    return this.lease;
  }

  /** @internal */
  updateInput() {
    return { TableName: this.tableName, Key: this.key };
  }

  /** @internal */
  released(held: HeldMutexLock): void {
    if (this.current === held) this.current = undefined;
  }
}

/** A held lock, renewing its lease in the background (heartbeat.ts) until released or lost. */
class HeldMutexLock extends LeaseKeeper implements HeldLock {
  readonly name: string;

  constructor(
    private readonly mutex: Mutex,
    readonly owner: string,
    readonly fence: number,
    leaseUntil: number,
  ) {
    super(mutex.settings, leaseUntil);
    this.name = mutex.name;
    this.start();
  }

  /** Only this grant: its token is minted per `lock()` call, so it names one fence as well. */
  private ours(extra: Record<string, AttributeValue> = {}) {
    return {
      ...this.mutex.updateInput(),
      ConditionExpression: '#owner = :token',
      ExpressionAttributeValues: { ':token': s(this.owner), ...extra },
    };
  }

  protected async renew(until: number, signal: AbortSignal): Promise<boolean> {
    try {
      await this.mutex.send(
        new UpdateItemCommand({
          ...this.ours({ ':until': n(until) }),
          UpdateExpression: 'SET #leaseUntil = :until',
          ExpressionAttributeNames: { '#leaseUntil': 'leaseUntil', '#owner': 'owner' },
        }),
        signal,
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  protected lostError(reason: string, cause?: unknown): Error {
    return new LockLostError(this.name, this.fence, reason, { cause });
  }

  protected onEnd(): void {
    this.mutex.released(this);
  }

  async unlock(options: SignalOptions = {}): Promise<void> {
    if (this.ended) {
      if (this.signal.aborted) throw new LockNotHeldError(this.name, undefined, (this.signal.reason as Error).message);
      throw new LockNotHeldError(this.name, undefined, `unlock of unlocked lock ${this.name}`);
    }
    this.end();
    try {
      await this.mutex.send(
        new UpdateItemCommand({
          ...this.ours(),
          UpdateExpression: 'REMOVE #owner, #leaseUntil SET #releasedBy = :token',
          ExpressionAttributeNames: { '#owner': 'owner', '#leaseUntil': 'leaseUntil', '#releasedBy': 'releasedBy' },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        options.signal,
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        // Our own release, applied by an attempt whose answer was lost, is a success.
        if (readString(err.Item, 'releasedBy') === this.owner) return;
        throw new LockNotHeldError(this.name, holderOf(err.Item), `lock ${this.name} (fence ${this.fence}) was lost before unlock`);
      }
      throw err;
    } finally {
      this.abortSignal(new LockNotHeldError(this.name, undefined, `lock ${this.name} was released`));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // Leaving the scope of a lock that was lost is not an error here: the signal reported it.
    if (this.ended) return;
    await this.unlock();
  }
}
