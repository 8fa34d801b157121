/**
 * Group: Go's `errgroup.Group` across Lambda workers.
 *
 *   go(fn, payload)  UpdateItem ADD pending 1  +  Invoke (Event) with the task envelope
 *   worker ends      TransactWriteItems (taskCompletion middleware): task marker if absent,
 *                    ADD pending -1, succeeded|failed +1, firstError = if_not_exists(...)
 *   wait()           GetItem (consistent) polls until pending = 0
 *
 * The group item (`group#<id>`, format in docs/item-format.md) is the whole state, so any process
 * that knows the id can wait on the group or inspect it.
 */
import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { randomUUID } from 'node:crypto';
import { GroupTaskError, MeshConfigError, type TaskFailure } from '../errors.ts';
import { type BackoffOptions, abortable, callOptions, pollDelayMs, sleep, throwIfAborted } from '../internal/time.ts';
import { retryConflicts } from '../internal/conflicts.ts';
import { checkName, FORMAT_VERSION, type Item, keys, n, readNumber, readString } from '../table/layout.ts';
import { ASYNC_PAYLOAD_LIMIT_BYTES, envelope, type GoOptions, invokeAsync, serializePayload, type TaskRef } from './go.ts';
import { recordTaskOutcome } from './taskRecord.ts';

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
}

export interface GroupStatus {
  started: number;
  pending: number;
  succeeded: number;
  failed: number;
  firstError: TaskFailure | undefined;
}

function failureOf(item: Item | undefined): TaskFailure | undefined {
  const map = item?.firstError?.M;
  if (!map) return undefined;
  return {
    taskId: readString(map, 'taskId') ?? '',
    functionName: readString(map, 'functionName') ?? '',
    errorType: readString(map, 'errorType') ?? 'Error',
    errorMessage: readString(map, 'errorMessage') ?? '',
  };
}

export class Group {
  readonly id: string;
  readonly tableName: string;
  private readonly dynamodb: DynamoDBClient;
  private readonly lambda: LambdaClient;
  private readonly limit: number | undefined;
  private readonly poll: BackoffOptions;
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
  }

  /**
   * Starts `functionName` with `payload` as a task of the group. Go: `g.Go(f)`. With a limit,
   * waits (polling the group) while `limit` tasks are running. An invoke that fails is recorded
   * as that task's failure (reported by `wait()`, like any task's error).
   * Cost: 1 UpdateItem + 1 Invoke (+ 1 GetItem per poll at the limit).
   * @returns the task id
   * @throws PayloadTooLargeError / InvalidInputError before any call
   */
  async go(functionName: string, payload: unknown, options: GoOptions & { taskId?: string } = {}): Promise<string> {
    const taskId = options.taskId ?? randomUUID();
    const task: TaskRef = { kind: 'group', tableName: this.tableName, name: this.id, taskId, functionName };
    const body = serializePayload(envelope(task, payload, options.trace), options.maxPayloadBytes ?? ASYNC_PAYLOAD_LIMIT_BYTES);
    // Starts are serialized in this process so that the limit check and the count agree.
    const start = this.starting.then(() => this.start(task, body, options.signal));
    this.starting = start.catch(() => undefined);
    await start;
    return taskId;
  }

  private async start(task: TaskRef, body: string, signal: AbortSignal | undefined): Promise<void> {
    if (this.limit !== undefined) {
      for (let attempt = 0; (await this.status({ ...(signal ? { signal } : {}) })).pending >= this.limit; attempt++) {
        await sleep(pollDelayMs(attempt, this.poll), signal);
      }
    }
    await retryConflicts(`group ${this.id}: start`, signal, () =>
      this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keys.group(this.id),
          UpdateExpression: 'ADD #pending :one, #started :one SET #v = :v',
          ExpressionAttributeNames: { '#pending': 'pending', '#started': 'started', '#v': 'v' },
          ExpressionAttributeValues: { ':one': n(1), ':v': n(FORMAT_VERSION) },
        }),
        callOptions(signal),
      ),
    );
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

  /** The group's counters and first error. Cost: 1 GetItem (consistent). */
  async status(options: { signal?: AbortSignal } = {}): Promise<GroupStatus> {
    const { Item } = await abortable(options.signal, () =>
      this.dynamodb.send(
        new GetItemCommand({ TableName: this.tableName, Key: keys.group(this.id), ConsistentRead: true }),
        callOptions(options.signal),
      ),
    );
    return {
      started: readNumber(Item, 'started') ?? 0,
      pending: readNumber(Item, 'pending') ?? 0,
      succeeded: readNumber(Item, 'succeeded') ?? 0,
      failed: readNumber(Item, 'failed') ?? 0,
      firstError: failureOf(Item),
    };
  }

  /**
   * Waits until every task started so far has finished, then resolves with the counts, or
   * rejects with the first task's error (Go: `g.Wait()` returns the first non-nil error, after all
   * have returned). Polls with a consistent GetItem, 50 ms backing off to 1 s.
   * @throws GroupTaskError carrying the first failure (task id, function, errorType, message)
   * @throws MeshAbortError when `signal` aborts first
   */
  async wait(options: { signal?: AbortSignal } = {}): Promise<GroupStatus> {
    await this.starting;
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(options.signal);
      const status = await this.status(options);
      if (status.pending <= 0) {
        if (status.failed > 0 && status.firstError) throw new GroupTaskError(this.id, status.firstError, status.failed);
        return status;
      }
      await sleep(pollDelayMs(attempt, this.poll), options.signal);
    }
  }
}
