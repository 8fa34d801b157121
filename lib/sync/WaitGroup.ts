/**
 * WaitGroup: Go's `sync.WaitGroup` as a counter item in the mesh table.
 *
 *   add(n)        UpdateItem  ADD count :n              (n < 0: only if count >= -n)
 *   done(taskId)  TransactWriteItems: done#<taskId> succeeded if absent or running
 *                 + ADD count -1 if count >= 1
 *   go(fn, p)     TransactWriteItems: Put done#<taskId> (running, deadline) + ADD count 1,
 *                 started 1; then Invoke (Event)
 *   wait()        GetItem (consistent) polls until count = 0; past a deadline, a Query finds the
 *                 tasks that never reported and counts them out as lost
 *
 * `done` is keyed by a task id, so a retried worker (Lambda retries asynchronous invocations)
 * never counts twice: exactly once, in one call.
 *
 * With `shards` = N > 1 the counter is N items in N partitions (lib/spawn/shards.ts): a task
 * counts in (go) and out (done) on shard murmur3(taskId) mod N, `add` on shard 0, and `wait`
 * sums the shards with a BatchGetItem, accepting a zero only when a second read finds no shard
 * written in between. N × the write throughput of one counter (docs/SCALING.md).
 */
import { type DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { randomUUID } from 'node:crypto';
import { MeshConfigError, type TaskFailure, WaitGroupNegativeCounterError, WaitGroupTaskLostError } from '../errors.ts';
import { type BackoffOptions, pollDelayMs, sleep, throwIfAborted } from '../internal/time.ts';
import { transactWrite } from '../internal/conflicts.ts';
import { checkTaskTimeout, TaskDeadlines } from '../spawn/deadlines.ts';
import { recordTaskOutcome, recordTaskStart } from '../spawn/taskRecord.ts';
import { ASYNC_PAYLOAD_LIMIT_BYTES, envelope, invokeAsync, serializePayload, type TaskGoOptions, type TaskRef } from '../spawn/go.ts';
import {
  checkShardsOf,
  counterKey,
  declareShards,
  earliestFailure,
  formatOf,
  readCounters,
  sameWrites,
  shardGuard,
  type ShardedGroupRef,
  sumOf,
} from '../spawn/shards.ts';
import { checkName, checkShards, type Item, n } from '../table/layout.ts';
import type { SignalOptions } from './Mutex.ts';

export interface WaitGroupOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Every WaitGroup with this name, anywhere, shares one counter. */
  name: string;
  /** How `wait()` polls. @default { baseMs: 50, maxMs: 1000 } */
  poll?: BackoffOptions;
  /**
   * Each task started by `go` must report within this many ms (a `go` may set its own); past it,
   * `wait()` counts it out as lost (`TaskDeadlineExceeded`). Tasks counted with `add` have none.
   * @default DEFAULT_TASK_TIMEOUT_MS (15 minutes; see lib/spawn/deadlines.ts)
   */
  taskTimeoutMs?: number;
  /**
   * Spread the counter over this many items in as many partitions (1–100), each `done` going to
   * the shard of its task id: N times the done calls a second one counter takes (about 250 a
   * second each on AWS, docs/SCALING.md), for N read units per poll of `wait`. Every participant
   * of the wait group must use the same number (workers learn it from their task envelope); one
   * that does not is refused with ShardCountMismatchError. 1 is today's format exactly.
   * @default 1
   */
  shards?: number;
}

/** The counter item: the count, the tasks `go` started, and the tasks lost (never reported). */
interface CounterState {
  count: number;
  started: number;
  lost: number;
  firstLost: TaskFailure | undefined;
}

/** The counter of all shards summed; the first lost task is the earliest of the shards' firsts. */
function counterOf(items: readonly (Item | undefined)[]): CounterState {
  return {
    count: sumOf(items, 'count'),
    started: sumOf(items, 'started'),
    lost: sumOf(items, 'lost'),
    firstLost: earliestFailure(items, 'firstLost'),
  };
}

export class WaitGroup {
  readonly name: string;
  readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly poll: BackoffOptions;
  private readonly taskTimeoutMs: number;
  private readonly deadlines: TaskDeadlines;
  /** How many shards the counter has (1: unsharded). */
  readonly shards: number;
  /** Set once shard 0 carries this object's shard count (a sharded wait group's first `go`). */
  private declared: Promise<void> | undefined;

  constructor(options: WaitGroupOptions) {
    if (!options?.client) throw new MeshConfigError('WaitGroup needs a DynamoDB client');
    if (!options.tableName) throw new MeshConfigError('WaitGroup needs the mesh table name');
    this.name = checkName('wait group', options.name);
    this.tableName = options.tableName;
    this.client = options.client;
    this.poll = options.poll ?? { baseMs: 50, maxMs: 1000 };
    this.taskTimeoutMs = checkTaskTimeout(options.taskTimeoutMs);
    this.shards = checkShards(options.shards);
    this.deadlines = new TaskDeadlines(this.client, this.ref, this.taskTimeoutMs);
  }

  private get ref(): ShardedGroupRef {
    return { kind: 'waitgroup', tableName: this.tableName, name: this.name, ...(this.shards > 1 ? { shards: this.shards } : {}) };
  }

  /**
   * Adds `delta` (which may be negative) to the counter. Go: `wg.Add(delta)`; as in Go, a
   * positive add must happen before the `wait()` it should hold up. Applied once whatever the
   * retries: a one-item TransactWriteItems under one ClientRequestToken, so an SDK retry after a
   * lost answer does not add again (a plain `ADD` would, and a wait on the doubled count would
   * never end). Cost: 1 TransactWriteItems (on shard 0 when sharded).
   * @throws WaitGroupNegativeCounterError if the counter would go below zero (nothing changes);
   *   sharded, shard counts are signed and a negative sum is reported by `count` and `wait`
   * @throws ShardCountMismatchError if the wait group has another number of shards
   */
  async add(delta: number, options: SignalOptions = {}): Promise<void> {
    if (!Number.isSafeInteger(delta) || delta === 0) throw new MeshConfigError(`add needs a non-zero integer, got ${delta}`);
    const guard = shardGuard(this.shards);
    const checked = delta < 0 && this.shards === 1;
    try {
      await transactWrite(
        this.client,
        `wait group ${this.name}: add`,
        {
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: counterKey(this.ref),
                UpdateExpression: `ADD #count :delta${guard.add} SET #v = :v${guard.set}`,
                ConditionExpression: checked ? `#count >= :needed AND ${guard.condition}` : guard.condition,
                ExpressionAttributeNames: { '#count': 'count', '#v': 'v', ...guard.names },
                ExpressionAttributeValues: {
                  ':delta': n(delta),
                  ':v': n(formatOf(this.shards)),
                  ...(checked ? { ':needed': n(-delta) } : {}),
                  ...guard.values,
                },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        },
        options.signal,
      );
    } catch (err) {
      const refusal = err instanceof TransactionCanceledException ? err.CancellationReasons?.[0] : undefined;
      if (refusal?.Code === 'ConditionalCheckFailed') {
        checkShardsOf(this.ref, refusal.Item);
        throw new WaitGroupNegativeCounterError(this.name, delta);
      }
      throw err;
    }
  }

  /**
   * Marks task `taskId` done: the counter drops by one, once per task id whatever the retries.
   * Go: `wg.Done()`. Cost: 1 TransactWriteItems.
   * @returns true if this call counted, false if the task had been counted before
   * @throws WaitGroupNegativeCounterError if the counter is already zero
   */
  async done(taskId: string, options: SignalOptions = {}): Promise<boolean> {
    checkName('task id', taskId);
    return recordTaskOutcome(this.client, { ...this.ref, taskId, functionName: '' }, { ok: true }, options);
  }

  /**
   * The current counter. Cost: 1 GetItem (consistent); sharded, 1 BatchGetItem of the N shards,
   * and when their sum is zero or less, one more to confirm it (see `state`).
   * @throws WaitGroupNegativeCounterError (sharded) if the shards sum to less than zero
   */
  async count(options: SignalOptions = {}): Promise<number> {
    const { count } = await this.state(options.signal);
    if (count < 0) throw new WaitGroupNegativeCounterError(this.name, count);
    return count;
  }

  /**
   * The counter. Unsharded: one read. Sharded: the sum of one read of every shard, which is not a
   * snapshot (each shard is read at its own instant) and may briefly show a task's `done` but not
   * the `go` or `add` that counted it in elsewhere: a false zero. So a sum of zero or less is
   * returned only once two reads in a row saw the same `writes` on every shard (a double collect:
   * then the values all held at one instant); otherwise the shards are read again, after a poll
   * delay from the third read on. A sum above zero is returned at once: a wait polls again anyway.
   */
  private async state(signal: AbortSignal | undefined): Promise<CounterState> {
    let items = await readCounters(this.client, this.ref, signal);
    if (this.shards === 1) return counterOf(items);
    for (let attempt = 0; ; attempt++) {
      const counter = counterOf(items);
      if (counter.count > 0) return counter;
      if (attempt > 0) await sleep(pollDelayMs(attempt - 1, this.poll), signal);
      const again = await readCounters(this.client, this.ref, signal);
      if (sameWrites(items, again)) return counterOf(again);
      items = again;
    }
  }

  /**
   * Resolves once the counter is zero. Go: `wg.Wait()`. Polls with a consistent GetItem, backing
   * off from 50 ms to 1 s: about 1 read per second of waiting once backed off. A task started by
   * `go` that has not reported by its deadline is counted out as lost, so a task whose every
   * attempt crashed ends the wait by its deadline at the latest; the wait then rejects.
   * Cost: 1 GetItem per poll (sharded: 1 BatchGetItem of N items, + 1 to confirm the zero); past the earliest deadline this object knows with the count above
   * zero, 1 Query (+ 1 TransactWriteItems per overdue task), then again at the next deadline. A
   * waiter that started none of the tasks makes that Query at its first poll that finds the count
   * above zero (if `go` ever started a task of this wait group), to learn their deadlines.
   * @throws WaitGroupTaskLostError at zero, if a task of this wait group was ever lost (it never
   *   reported: its deadline passed, or Lambda gave up on it); `failure` names the first
   * @throws WaitGroupNegativeCounterError (sharded) if the shards sum to less than zero
   * @throws ShardCountMismatchError if the wait group has another number of shards
   * @throws MeshAbortError when `signal` aborts first
   */
  async wait(options: SignalOptions = {}): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(options.signal);
      const counter = await this.state(options.signal);
      if (counter.count < 0 && this.shards > 1) throw new WaitGroupNegativeCounterError(this.name, counter.count);
      if (counter.count <= 0) {
        if (counter.lost > 0 && counter.firstLost) throw new WaitGroupTaskLostError(this.name, counter.firstLost, counter.lost);
        return;
      }
      if ((await this.deadlines.recordOverdue(counter.started, options.signal)) > 0) continue;
      await sleep(pollDelayMs(attempt, this.poll), options.signal);
    }
  }

  /**
   * Adds one and starts `functionName` with `payload`; the worker's `taskCompletion` middleware
   * calls `done` when it finishes, exactly once. Go 1.25: `wg.Go(f)`. The task must report within
   * `taskTimeoutMs` (its item carries the deadline). Cost: 1 TransactWriteItems (the task item +
   * the counter: 4 write units, where the UpdateItem it replaces was 1) + 1 Invoke.
   * If the invoke fails, the task is marked done here (with its id, so a worker that did start
   * after all cannot count twice) and the error is thrown.
   * @returns the task id
   * @throws DuplicateTaskError if `taskId` was started in this wait group before (nothing is invoked)
   */
  async go(lambda: LambdaClient, functionName: string, payload: unknown, options: TaskGoOptions = {}): Promise<string> {
    const taskId = checkName('task id', options.taskId ?? randomUUID());
    const timeoutMs = checkTaskTimeout(options.taskTimeoutMs, this.taskTimeoutMs);
    const task: TaskRef = { ...this.ref, taskId, functionName };
    const body = serializePayload(envelope(task, payload, options.trace), options.maxPayloadBytes ?? ASYNC_PAYLOAD_LIMIT_BYTES);
    await this.declare(options.signal);
    const startedAt = Date.now();
    await recordTaskStart(this.client, task, { startedAt, deadline: startedAt + timeoutMs }, options.signal);
    this.deadlines.started(startedAt + timeoutMs);
    try {
      await invokeAsync(lambda, functionName, body, options.signal);
    } catch (err) {
      await recordTaskOutcome(this.client, task, { ok: true });
      throw err;
    }
    return taskId;
  }

  /**
   * A sharded wait group's first `go` from this object makes sure shard 0 carries the shard
   * count and format 2, even if no task lands there: a participant with another count (or a
   * reader of format 1) then finds it at shard 0 and is refused, instead of missing the tasks on
   * the shards it does not read. Cost: 1 UpdateItem, once per object; nothing unsharded.
   */
  private declare(signal: AbortSignal | undefined): Promise<void> {
    if (this.shards === 1) return Promise.resolve();
    this.declared ??= declareShards(this.client, this.ref, signal).catch((err: unknown) => {
      this.declared = undefined;
      throw err;
    });
    return this.declared;
  }
}
