/**
 * WaitGroup: Go's `sync.WaitGroup` as a counter item in the mesh table.
 *
 *   add(n)        UpdateItem  ADD count :n              (n < 0: only if count >= -n)
 *   done(taskId)  TransactWriteItems: Put done#<taskId> if absent + ADD count -1 if count >= 1
 *   wait()        GetItem (consistent) polls until count = 0
 *
 * `done` is keyed by a task id, so a retried worker (Lambda retries asynchronous invocations)
 * never counts twice: exactly once, in one call.
 */
import { ConditionalCheckFailedException, type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { randomUUID } from 'node:crypto';
import { MeshConfigError, WaitGroupNegativeCounterError } from '../errors.ts';
import { type BackoffOptions, abortable, callOptions, pollDelayMs, sleep, throwIfAborted } from '../internal/time.ts';
import { retryConflicts } from '../internal/conflicts.ts';
import { recordTaskOutcome } from '../spawn/taskRecord.ts';
import { ASYNC_PAYLOAD_LIMIT_BYTES, envelope, type GoOptions, invokeAsync, serializePayload } from '../spawn/go.ts';
import { checkName, FORMAT_VERSION, keys, n, readNumber } from '../table/layout.ts';
import type { SignalOptions } from './Mutex.ts';

export interface WaitGroupOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Every WaitGroup with this name, anywhere, shares one counter. */
  name: string;
  /** How `wait()` polls. @default { baseMs: 50, maxMs: 1000 } */
  poll?: BackoffOptions;
}

export class WaitGroup {
  readonly name: string;
  readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly poll: BackoffOptions;

  constructor(options: WaitGroupOptions) {
    if (!options?.client) throw new MeshConfigError('WaitGroup needs a DynamoDB client');
    if (!options.tableName) throw new MeshConfigError('WaitGroup needs the mesh table name');
    this.name = checkName('wait group', options.name);
    this.tableName = options.tableName;
    this.client = options.client;
    this.poll = options.poll ?? { baseMs: 50, maxMs: 1000 };
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
    const { Item } = await abortable(options.signal, () =>
      this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: keys.waitGroup(this.name), ConsistentRead: true }),
        callOptions(options.signal),
      ),
    );
    return readNumber(Item, 'count') ?? 0;
  }

  /**
   * Resolves once the counter is zero. Go: `wg.Wait()`. Polls with a consistent GetItem, backing
   * off from 50 ms to 1 s: about 1 read per second of waiting once backed off.
   * @throws MeshAbortError when `signal` aborts first
   */
  async wait(options: SignalOptions = {}): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(options.signal);
      if ((await this.count(options)) <= 0) return;
      await sleep(pollDelayMs(attempt, this.poll), options.signal);
    }
  }

  /**
   * Adds one and starts `functionName` with `payload`; the worker's `taskCompletion` middleware
   * calls `done` when it finishes, exactly once. Go 1.25: `wg.Go(f)`. Cost: 1 UpdateItem + 1 Invoke.
   * If the invoke fails, the task is marked done here (with its id, so a worker that did start
   * after all cannot count twice) and the error is thrown.
   * @returns the task id
   */
  async go(lambda: LambdaClient, functionName: string, payload: unknown, options: GoOptions & { taskId?: string } = {}): Promise<string> {
    const taskId = options.taskId ?? randomUUID();
    const task = { kind: 'waitgroup' as const, tableName: this.tableName, name: this.name, taskId, functionName };
    const body = serializePayload(envelope(task, payload, options.trace), options.maxPayloadBytes ?? ASYNC_PAYLOAD_LIMIT_BYTES);
    await this.add(1, options);
    try {
      await invokeAsync(lambda, functionName, body, options.signal);
    } catch (err) {
      await this.done(taskId);
      throw err;
    }
    return taskId;
  }
}
