/**
 * Once: Go's `sync.Once` (more exactly `sync.OnceValues`) across processes. `once.do(key, fn)`
 * runs `fn` once for `key` among everyone using the mesh table; every caller gets its result.
 *
 *   claim    UpdateItem SET state = running, owner, leaseUntil ADD fence 1
 *              if absent, or running with an expired lease (the runner crashed)
 *   winner   runs fn, renewing its lease; then UpdateItem state = done + result (or failed + error)
 *   others   see the item in the failed claim (ALL_OLD): done → its result; failed → OnceFailedError;
 *            running → poll the claim until it ends (or its lease expires and they take over)
 *
 * A runner that crashes mid-`fn` does not wedge the key: its lease runs out and the next caller
 * runs `fn` again. So "once" holds for runs that finish; an `fn` whose effect must not repeat
 * even after a crash should make the effect itself idempotent or fenced (it receives a fence).
 */
import { type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { InvalidInputError, ItemFormatError, MeshConfigError, OnceFailedError, PayloadTooLargeError } from '../errors.ts';
import { type BackoffOptions, backoffMs, sleep, throwIfAborted } from '../internal/time.ts';
import { checkName, FORMAT_VERSION, type Item, keys, MAX_STORED_ERROR_CHARS, n, readNumber, readString, s } from '../table/layout.ts';
import { LeaseKeeper } from './heartbeat.ts';
import { type Attempt, HolderItem } from './holderItem.ts';
import { expiredBefore, leaseEnd, type LeaseOptions, type LeaseSettings, leaseSettings, msUntilTakeover } from './lease.ts';

export interface OnceOptions extends LeaseOptions {
  client: DynamoDBClient;
  tableName: string;
  /** A label recorded as the runner. @default a random UUID */
  owner?: string;
  /** How waiting callers poll. @default { baseMs: 50, maxMs: 1000 } */
  backoff?: BackoffOptions;
}

/** What `fn` receives: a signal aborted if its lease is lost, and a fence for its writes. */
export interface OnceRun {
  signal: AbortSignal;
  /** Larger for every (re)run of this key: pass to `fencedUpdate` to guard the effect. */
  fence: number;
}

type Claim = { won: true; fence: number; token: string; until: number } | { won: false; item: Item };

const NAMES = {
  '#state': 'state',
  '#owner': 'owner',
  '#leaseUntil': 'leaseUntil',
  '#startedAt': 'startedAt',
  '#finishedAt': 'finishedAt',
  '#result': 'result',
  '#errorType': 'errorType',
  '#errorMessage': 'errorMessage',
  '#fence': 'fence',
  '#v': 'v',
};

export class Once {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly owner: string;
  private readonly lease: LeaseSettings;
  private readonly backoff: BackoffOptions;

  constructor(options: OnceOptions) {
    if (!options?.client) throw new MeshConfigError('Once needs a DynamoDB client');
    if (!options.tableName) throw new MeshConfigError('Once needs the mesh table name');
    this.client = options.client;
    this.tableName = options.tableName;
    this.owner = options.owner ?? randomUUID();
    this.lease = leaseSettings(options);
    this.backoff = options.backoff ?? { baseMs: 50, maxMs: 1000 };
  }

  /**
   * Runs `fn` once for `key` across all callers and returns its (JSON-serializable) result to
   * each. Go: `sync.OnceValues(f)()`. If `fn` throws, the key is done with that error: the
   * first caller gets the error itself, every later caller an OnceFailedError (as Go's Once
   * counts a panicking f as done).
   * Cost: done key: 1 UpdateItem (refused, carrying the result); first run: 2 UpdateItems
   * (+ 1 per heartbeat); waiting: 1 UpdateItem per poll.
   * @throws OnceFailedError, InvalidInputError (result not JSON), MeshAbortError
   */
  async do<T>(key: string, fn: (run: OnceRun) => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
    checkName('once key', key);
    const item = new HolderItem(this.client, this.tableName, keys.once(key), NAMES);
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(options.signal);
      const claim = await this.claim(item, key);
      if (claim.won) return this.run(item, key, claim, fn);
      const state = readString(claim.item, 'state');
      if (state === 'done') return resultOf(readString(claim.item, 'result')) as T;
      if (state === 'failed') {
        throw new OnceFailedError(key, readString(claim.item, 'errorType') ?? 'Error', readString(claim.item, 'errorMessage') ?? '');
      }
      if (state !== 'running') throw new ItemFormatError(`once ${key}: unknown state ${state}`);
      const untilTakeover = msUntilTakeover(this.lease, readNumber(claim.item, 'leaseUntil') ?? 0);
      await sleep(Math.min(untilTakeover, backoffMs(attempt, this.backoff)) + 1, options.signal);
    }
  }

  private async claim(item: HolderItem, key: string): Promise<Claim> {
    const now = this.lease.now();
    const until = leaseEnd(this.lease, now);
    const token = `${this.owner}/${randomUUID()}`;
    // A fence for the run: ADD on an update keeps it growing across takeovers.
    const claimed = await item.grant({
      operation: `once ${key}: claim`,
      update: 'SET #state = :running, #owner = :token, #leaseUntil = :until, #startedAt = :now, #v = :v ADD #fence :one',
      // `#owner = :token`: the SDK's retry of a claim that applied but whose answer was lost
      // wins as the first attempt did, instead of waiting out its own lease.
      condition: 'attribute_not_exists(#state) OR (#state = :running AND (#leaseUntil < :expiredBefore OR #owner = :token))',
      values: {
        ':running': s('running'),
        ':token': s(token),
        ':until': n(until),
        ':now': n(now),
        ':v': n(FORMAT_VERSION),
        ':one': n(1),
        ':expiredBefore': n(expiredBefore(this.lease, now)),
      },
      returnNew: true,
    });
    if (claimed.applied) return { won: true, fence: readNumber(claimed.item, 'fence') ?? 1, token, until };
    // Refused only by an item that exists, which the refusal returns.
    if (!claimed.item) throw new ItemFormatError(`once ${key}: the claim was refused, but no item came back`);
    return { won: false, item: claimed.item };
  }

  private async run<T>(
    item: HolderItem,
    key: string,
    claim: { fence: number; token: string; until: number },
    fn: (run: OnceRun) => Promise<T>,
  ): Promise<T> {
    /** An update of our own run's item, only while we still own it: refused (not applied) once we do not. */
    const finish = (update: string, values: Item, signal?: AbortSignal): Promise<Attempt> =>
      item.attempt(
        {
          operation: `once ${key}: finish`,
          update,
          condition: '#owner = :token AND #state = :runningState',
          values: { ...values, ':token': s(claim.token), ':runningState': s('running') },
        },
        signal,
      );
    const lease = new RunLease(this.lease, claim.until, key, async (until, signal) => {
      const { applied } = await finish('SET #leaseUntil = :until', { ':until': n(until) }, signal);
      return applied;
    });
    const recordFailure = (error: Error) =>
      // If this write fails too, the lease runs out and the next caller runs fn again.
      finish('SET #state = :failed, #errorType = :type, #errorMessage = :message, #finishedAt = :now REMOVE #leaseUntil', {
        ':failed': s('failed'),
        ':type': s((error?.name ?? 'Error').slice(0, MAX_STORED_ERROR_CHARS)),
        // Cut, so the write fits the item (400 KB) and is not refused, leaving fn to run again.
        ':message': s((error?.message ?? String(error)).slice(0, MAX_STORED_ERROR_CHARS)),
        ':now': n(this.lease.now()),
      }).catch(() => undefined);
    let result: T;
    try {
      result = await fn({ signal: lease.signal, fence: claim.fence });
    } catch (err) {
      lease.stop();
      await recordFailure(err as Error);
      throw err;
    }
    lease.stop();
    let text: string | undefined;
    try {
      text = encodeResult(result);
    } catch (err) {
      const error = new InvalidInputError('result', `the result of a Once function must be JSON-serializable: ${(err as Error).message}`, {
        cause: err,
      });
      await recordFailure(error);
      throw error;
    }
    const bytes = text === undefined ? 0 : Buffer.byteLength(text);
    if (bytes > MAX_RESULT_BYTES) {
      // It would not fit the item: the write would fail, and the next caller would run fn again.
      const error = new PayloadTooLargeError(`once ${key}: the result (as JSON)`, bytes, MAX_RESULT_BYTES);
      await recordFailure(error);
      throw error;
    }
    // Refused: our lease ran out mid-run and another caller took over. Our run did finish, so we
    // return its result; the key will hold the other run's (see the class notes on fencing).
    await finish(
      text === undefined
        ? 'SET #state = :done, #finishedAt = :now REMOVE #leaseUntil, #result'
        : 'SET #state = :done, #result = :result, #finishedAt = :now REMOVE #leaseUntil',
      { ':done': s('done'), ':now': n(this.lease.now()), ...(text === undefined ? {} : { ':result': s(text) }) },
    );
    // What every other caller gets from the item: the runner gets the same.
    return resultOf(text) as T;
  }
}

/** The lease of a running `fn`, renewed in the background (heartbeat.ts) until the run ends. */
class RunLease extends LeaseKeeper {
  constructor(
    settings: LeaseSettings,
    leaseUntil: number,
    private readonly key: string,
    /** One renewal: true if applied, false if refused (the run's lease is gone). */
    private readonly renewTo: (until: number, signal: AbortSignal) => Promise<boolean>,
  ) {
    super(settings, leaseUntil);
    this.start();
  }

  protected renew(until: number, signal: AbortSignal): Promise<boolean> {
    return this.renewTo(until, signal);
  }

  protected lostError(reason: string): Error {
    return new OnceFailedError(this.key, 'LeaseLost', `the run lost its lease (${reason}); another caller may run it`);
  }

  protected onEnd(): void {}

  /** The run is over: no more heartbeats. */
  stop(): void {
    this.end();
  }
}

/**
 * A result as stored: JSON, or nothing for `undefined`. @throws TypeError for what JSON cannot
 * hold (a BigInt, a cycle, a function or symbol)
 */
function encodeResult(result: unknown): string | undefined {
  if (result === undefined) return undefined;
  const text = JSON.stringify(result);
  if (text === undefined) throw new TypeError(`a ${typeof result} is not JSON`);
  return text;
}

/**
 * The largest result stored: a DynamoDB item holds 400 KB (names and values), and the key's other
 * attributes need a little of it.
 */
export const MAX_RESULT_BYTES = 380_000;

/** What every caller of a done key gets: `JSON.parse` of the stored JSON, or `undefined`. */
function resultOf(text: string | undefined): unknown {
  return text === undefined ? undefined : JSON.parse(text);
}
