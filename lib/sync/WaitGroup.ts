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
 */
import { ConditionalCheckFailedException, type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { randomUUID } from 'node:crypto';
import { MeshConfigError, type TaskFailure, WaitGroupNegativeCounterError, WaitGroupTaskLostError } from '../errors.ts';
import { type BackoffOptions, abortable, callOptions, pollDelayMs, sleep, throwIfAborted } from '../internal/time.ts';
import { retryConflicts } from '../internal/conflicts.ts';
import { checkTaskTimeout, TaskDeadlines } from '../spawn/deadlines.ts';
import { recordTaskOutcome, recordTaskStart } from '../spawn/taskRecord.ts';
import { ASYNC_PAYLOAD_LIMIT_BYTES, envelope, invokeAsync, serializePayload, type TaskGoOptions, type TaskRef } from '../spawn/go.ts';
import { checkName, FORMAT_VERSION, type Item, keys, n, readNumber, readString } from '../table/layout.ts';
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
}

/** The counter item: the count, the tasks `go` started, and the tasks lost (never reported). */
interface CounterState {
  count: number;
  started: number;
  lost: number;
  firstLost: TaskFailure | undefined;
}

function lostOf(item: Item | undefined): TaskFailure | undefined {
  const map = item?.firstLost?.M;
  if (!map) return undefined;
  return {
    taskId: readString(map, 'taskId') ?? '',
    functionName: readString(map, 'functionName') ?? '',
    errorType: readString(map, 'errorType') ?? 'Error',
    errorMessage: readString(map, 'errorMessage') ?? '',
  };
}

export class WaitGroup {
  readonly name: string;
  readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly poll: BackoffOptions;
  private readonly taskTimeoutMs: number;
  private readonly deadlines: TaskDeadlines;

  constructor(options: WaitGroupOptions) {
    if (!options?.client) throw new MeshConfigError('WaitGroup needs a DynamoDB client');
    if (!options.tableName) throw new MeshConfigError('WaitGroup needs the mesh table name');
    this.name = checkName('wait group', options.name);
    this.tableName = options.tableName;
    this.client = options.client;
    this.poll = options.poll ?? { baseMs: 50, maxMs: 1000 };
    this.taskTimeoutMs = checkTaskTimeout(options.taskTimeoutMs);
    this.deadlines = new TaskDeadlines(this.client, { kind: 'waitgroup', tableName: this.tableName, name: this.name }, this.taskTimeoutMs);
  }

  /**
   * Adds `delta` (which may be negative) to the counter. Go: `wg.Add(delta)`; as in Go, a
   * positive add must happen before the `wait()` it should hold up. Cost: 1 UpdateItem.
   * @returns the counter after the add
   * @throws WaitGroupNegativeCounterError if the counter would go below zero (nothing changes)
   */
  async add(delta: number, options: SignalOptions = {}): Promise<number> {
    if (!Number.isSafeInteger(delta) || delta === 0) throw new MeshConfigError(`add needs a non-zero integer, got ${delta}`);
    try {
      const { Attributes } = await retryConflicts(`wait group ${this.name}: add`, options.signal, () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: keys.waitGroup(this.name),
            UpdateExpression: 'ADD #count :delta SET #v = :v',
            ...(delta < 0 ? { ConditionExpression: '#count >= :needed' } : {}),
            ExpressionAttributeNames: { '#count': 'count', '#v': 'v' },
            ExpressionAttributeValues: { ':delta': n(delta), ':v': n(FORMAT_VERSION), ...(delta < 0 ? { ':needed': n(-delta) } : {}) },
            ReturnValues: 'UPDATED_NEW',
          }),
          callOptions(options.signal),
        ),
      );
      return readNumber(Attributes, 'count') ?? 0;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new WaitGroupNegativeCounterError(this.name, delta);
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
    return recordTaskOutcome(
      this.client,
      { kind: 'waitgroup', tableName: this.tableName, name: this.name, taskId, functionName: '' },
      { ok: true },
      options,
    );
  }

  /** The current counter. Cost: 1 GetItem (consistent). */
  async count(options: SignalOptions = {}): Promise<number> {
    return (await this.counter(options)).count;
  }

  private async counter(options: SignalOptions): Promise<CounterState> {
    const { Item } = await abortable(options.signal, () =>
      this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: keys.waitGroup(this.name), ConsistentRead: true }),
        callOptions(options.signal),
      ),
    );
    return {
      count: readNumber(Item, 'count') ?? 0,
      started: readNumber(Item, 'started') ?? 0,
      lost: readNumber(Item, 'lost') ?? 0,
      firstLost: lostOf(Item),
    };
  }

  /**
   * Resolves once the counter is zero. Go: `wg.Wait()`. Polls with a consistent GetItem, backing
   * off from 50 ms to 1 s: about 1 read per second of waiting once backed off. A task started by
   * `go` that has not reported by its deadline is counted out as lost, so a task whose every
   * attempt crashed ends the wait by its deadline at the latest; the wait then rejects.
   * Cost: 1 GetItem per poll; past the earliest deadline this object knows with the count above
   * zero, 1 Query (+ 1 TransactWriteItems per overdue task), then again at the next deadline. A
   * waiter that started none of the tasks makes that Query at its first poll that finds the count
   * above zero (if `go` ever started a task of this wait group), to learn their deadlines.
   * @throws WaitGroupTaskLostError at zero, if a task of this wait group was ever lost (it never
   *   reported: its deadline passed, or Lambda gave up on it); `failure` names the first
   * @throws MeshAbortError when `signal` aborts first
   */
  async wait(options: SignalOptions = {}): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(options.signal);
      const counter = await this.counter(options);
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
    const task: TaskRef = { kind: 'waitgroup', tableName: this.tableName, name: this.name, taskId, functionName };
    const body = serializePayload(envelope(task, payload, options.trace), options.maxPayloadBytes ?? ASYNC_PAYLOAD_LIMIT_BYTES);
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
}
