/**
 * Group: Go's `errgroup.Group` across Lambda workers.
 *
 *   go(fn, payload)  TransactWriteItems: Put task#<id> (running, deadline) + ADD pending 1,
 *                    started 1; then Invoke (Event) with the task envelope
 *   worker ends      TransactWriteItems (taskCompletion middleware): task item succeeded|failed
 *                    if absent or running, ADD pending -1, succeeded|failed +1,
 *                    firstError = if_not_exists(...)
 *   Lambda gives up  the same, from the on-failure destination (functions/taskfailures)
 *   wait()           GetItem (consistent) polls until pending = 0; past a deadline, a Query
 *                    finds the tasks that never reported and records them failed
 *
 * The group item (`group#<id>`, format in docs/item-format.md) is the whole state, so any process
 * that knows the id can wait on the group or inspect it. With `shards` = N > 1 it is N items in N
 * partitions (lib/spawn/shards.ts): each task counts in and out on shard murmur3(taskId) mod N,
 * and `status`/`wait` sum the shards.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { randomUUID } from 'node:crypto';
import { GroupTaskError, MeshConfigError, type TaskFailure } from '../errors.ts';
import { type BackoffOptions, pollDelayMs, sleep, throwIfAborted } from '../internal/time.ts';
import { checkName, checkShards, type Item } from '../table/layout.ts';
import { checkTaskTimeout, TaskDeadlines } from './deadlines.ts';
import { ASYNC_PAYLOAD_LIMIT_BYTES, envelope, invokeAsync, serializePayload, type TaskGoOptions, type TaskRef } from './go.ts';
import { declareShards, earliestFailure, readCounters, sameWrites, type ShardedGroupRef, sumOf } from './shards.ts';
import { recordTaskStart, recordTaskOutcome } from './taskRecord.ts';

export interface GroupOptions {
  dynamodb: DynamoDBClient;
  lambda: LambdaClient;
  tableName: string;
  /** The group's id; another process can wait on the same group with it. @default a random UUID */
  id?: string;
  /** At most this many tasks of the group run at once (Go: `g.SetLimit(n)`). @default unlimited */
  limit?: number;
  /** How `wait()` (and `go()` at the limit) polls. @default { baseMs: 50, maxMs: 1000 } */
  poll?: BackoffOptions;
  /**
   * Each task must report within this many ms of its `go` (a `go` may set its own); past it,
   * `wait()` records the task as failed with `TaskDeadlineExceeded`.
   * @default DEFAULT_TASK_TIMEOUT_MS (15 minutes: Lambda's three attempts of a function whose
   *   timeout is up to 3 minutes; see lib/spawn/deadlines.ts)
   */
  taskTimeoutMs?: number;
  /**
   * Spread the group's counts over this many items in as many partitions (1–100), each task
   * counted in and out on the shard of its task id: N times the task finishes a second one group
   * item takes (about 250 a second each on AWS, docs/SCALING.md), for N read units per poll of
   * `wait`/`status`. Every participant of the group must use the same number (workers learn it
   * from their task envelope); one that does not is refused with ShardCountMismatchError. 1 is
   * today's format exactly.
   * @default 1
   */
  shards?: number;
}

export interface GroupStatus {
  started: number;
  pending: number;
  succeeded: number;
  failed: number;
  firstError: TaskFailure | undefined;
}

/** The counts of all shards summed; the first error is the earliest of the shards' first errors. */
function statusOf(items: readonly (Item | undefined)[]): GroupStatus {
  return {
    started: sumOf(items, 'started'),
    pending: sumOf(items, 'pending'),
    succeeded: sumOf(items, 'succeeded'),
    failed: sumOf(items, 'failed'),
    firstError: earliestFailure(items, 'firstError'),
  };
}

export class Group {
  readonly id: string;
  readonly tableName: string;
  private readonly dynamodb: DynamoDBClient;
  private readonly lambda: LambdaClient;
  private readonly limit: number | undefined;
  private readonly poll: BackoffOptions;
  private readonly taskTimeoutMs: number;
  private readonly deadlines: TaskDeadlines;
  /** How many shards the group's counts have (1: unsharded). */
  readonly shards: number;
  private declared = false;
  private starting: Promise<unknown> = Promise.resolve();

  constructor(options: GroupOptions) {
    if (!options?.dynamodb || !options.lambda) throw new MeshConfigError('Group needs a DynamoDB client and a Lambda client');
    if (!options.tableName) throw new MeshConfigError('Group needs the mesh table name');
    if (options.limit !== undefined && !(Number.isSafeInteger(options.limit) && options.limit > 0)) {
      throw new MeshConfigError(`limit must be a positive integer, got ${options.limit}`);
    }
    this.id = checkName('group id', options.id ?? randomUUID());
    this.tableName = options.tableName;
    this.dynamodb = options.dynamodb;
    this.lambda = options.lambda;
    this.limit = options.limit;
    this.poll = options.poll ?? { baseMs: 50, maxMs: 1000 };
    this.taskTimeoutMs = checkTaskTimeout(options.taskTimeoutMs);
    this.shards = checkShards(options.shards);
    this.deadlines = new TaskDeadlines(this.dynamodb, this.ref, this.taskTimeoutMs);
  }

  private get ref(): ShardedGroupRef {
    return { kind: 'group', tableName: this.tableName, name: this.id, ...(this.shards > 1 ? { shards: this.shards } : {}) };
  }

  /**
   * Starts `functionName` with `payload` as a task of the group. Go: `g.Go(f)`. With a limit,
   * waits (polling the group) while `limit` tasks are running. An invoke that fails is recorded
   * as that task's failure (reported by `wait()`, like any task's error). The task must report
   * within `taskTimeoutMs` (its item carries the deadline).
   * Cost: 1 TransactWriteItems (the task item + the group's counts: 4 write units, where the
   * UpdateItem it replaces was 1) + 1 Invoke (+ 1 GetItem per poll at the limit).
   * @returns the task id
   * @throws PayloadTooLargeError / InvalidInputError / MeshConfigError before any call
   * @throws DuplicateTaskError if `taskId` was started in this group before (nothing is invoked)
   */
  async go(functionName: string, payload: unknown, options: TaskGoOptions = {}): Promise<string> {
    const taskId = checkName('task id', options.taskId ?? randomUUID());
    const timeoutMs = checkTaskTimeout(options.taskTimeoutMs, this.taskTimeoutMs);
    const task: TaskRef = { ...this.ref, taskId, functionName };
    const body = serializePayload(envelope(task, payload, options.trace), options.maxPayloadBytes ?? ASYNC_PAYLOAD_LIMIT_BYTES);
    // Starts are serialized in this process so that the limit check and the count agree.
    const start = this.starting.then(() => this.start(task, body, timeoutMs, options.signal));
    this.starting = start.catch(() => undefined);
    await start;
    return taskId;
  }

  private async start(task: TaskRef, body: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    // A sharded group's first start from this object puts the shard count on shard 0 (see
    // declareShards): 1 UpdateItem, once.
    if (this.shards > 1 && !this.declared) {
      await declareShards(this.dynamodb, this.ref, signal);
      this.declared = true;
    }
    if (this.limit !== undefined) {
      for (let attempt = 0; ; attempt++) {
        const status = await this.status({ ...(signal ? { signal } : {}) });
        if (status.pending < this.limit) break;
        // A task that never reports would hold its slot for ever: past its deadline, free it.
        if ((await this.deadlines.recordOverdue(status.started, signal)) > 0) continue;
        await sleep(pollDelayMs(attempt, this.poll), signal);
      }
    }
    const startedAt = Date.now();
    await recordTaskStart(this.dynamodb, task, { startedAt, deadline: startedAt + timeoutMs }, signal);
    this.deadlines.started(startedAt + timeoutMs);
    try {
      await invokeAsync(this.lambda, task.functionName, body, signal);
    } catch (err) {
      const error = err as Error;
      await recordTaskOutcome(this.dynamodb, task, {
        ok: false,
        errorType: error.name ?? 'Error',
        errorMessage: error.message ?? String(err),
      });
    }
  }

  /**
   * The group's counters and first error. Cost: 1 GetItem (consistent); sharded, 1 BatchGetItem
   * of the N shards (their sums, within the tasks in flight: not a snapshot).
   * @throws ShardCountMismatchError if the group has another number of shards
   */
  async status(options: { signal?: AbortSignal } = {}): Promise<GroupStatus> {
    return statusOf(await readCounters(this.dynamodb, this.ref, options.signal));
  }

  /**
   * The status a wait may end on. Sharded, a sum of shards read at different instants may show a
   * task's finish but not its start (a task that starts a subtask, then finishes): a false zero.
   * So `pending` of zero is accepted only once two reads in a row saw the same `writes` on every
   * shard (a double collect: the values then all held at one instant).
   */
  private async settledStatus(signal: AbortSignal | undefined): Promise<GroupStatus> {
    let items = await readCounters(this.dynamodb, this.ref, signal);
    if (this.shards === 1) return statusOf(items);
    for (let attempt = 0; ; attempt++) {
      const status = statusOf(items);
      if (status.pending > 0) return status;
      if (attempt > 0) await sleep(pollDelayMs(attempt - 1, this.poll), signal);
      const again = await readCounters(this.dynamodb, this.ref, signal);
      if (sameWrites(items, again)) return statusOf(again);
      items = again;
    }
  }

  /**
   * Waits until every task started so far has finished, then resolves with the counts, or
   * rejects with the first task's error (Go: `g.Wait()` returns the first non-nil error, after all
   * have returned). Polls with a consistent GetItem, 50 ms backing off to 1 s. A task that has not
   * reported by its deadline is recorded as failed (`TaskDeadlineExceeded`), so a task whose every
   * attempt crashed ends the wait by its deadline at the latest.
   * Cost: 1 GetItem per poll (sharded: 1 BatchGetItem of N items, + 1 to confirm the end); past
   * the earliest deadline this object knows with tasks still pending, 1 Query per shard (+ 1
   * TransactWriteItems per overdue task), then again at the next deadline.
   * A waiter that started none of the tasks makes that Query at its first poll that finds tasks
   * pending, to learn their deadlines.
   * @throws GroupTaskError carrying the first failure (task id, function, errorType, message)
   * @throws MeshAbortError when `signal` aborts first
   */
  async wait(options: { signal?: AbortSignal } = {}): Promise<GroupStatus> {
    await this.starting;
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(options.signal);
      const status = await this.settledStatus(options.signal);
      if (status.pending <= 0) {
        if (status.failed > 0 && status.firstError) throw new GroupTaskError(this.id, status.firstError, status.failed);
        return status;
      }
      if ((await this.deadlines.recordOverdue(status.started, options.signal)) > 0) continue;
      await sleep(pollDelayMs(attempt, this.poll), options.signal);
    }
  }
}
