/**
 * taskCompletion: the middy middleware a tracked worker uses. When the event is a task envelope
 * (sent by `Group.go` or `WaitGroup.go`), the handler gets the payload alone, and when it ends
 * the middleware records the outcome on the group or wait group exactly once per task id,
 * whatever the retries (one TransactWriteItems).
 *
 * A failed task is recorded and the error is then swallowed (the invocation returns
 * `{ ok: false, error }`): the group reports it, and Lambda does not retry the asynchronous
 * invocation (which would run the task again after its failure was already counted). With
 * `rethrow: true` a failed attempt records nothing and its error goes on, so Lambda retries it
 * as it would a crash. A worker that crashes or times out (Lambda's timeout, or middy's early
 * timeout just before it) records nothing; Lambda's retries then run it again, and if every
 * attempt fails the task is recorded as failed by the function's on-failure destination
 * (functions/taskfailures) or, at the latest, by its deadline (lib/spawn/deadlines.ts). A report
 * that comes after either changes nothing.
 *
 * The worker records only to its own mesh table (`tableName`): an envelope that names another
 * table is refused with InvalidInputError before the handler runs, so an event cannot make the
 * worker write where its author chose.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { MiddlewareObj, Request } from '@middy/core';
import { InvalidInputError, MeshConfigError } from '../errors.ts';
import { isTaskEnvelope, type TaskRef } from '../spawn/go.ts';
import { isValidShards } from '../spawn/shards.ts';
import { recordTaskOutcome } from '../spawn/taskRecord.ts';

export interface TaskCompletionOptions {
  client: DynamoDBClient;
  /** The mesh table this worker records to; envelopes naming any other table are refused. */
  tableName: string;
  /**
   * A failed attempt records nothing and its error goes on, so Lambda retries it (as after a
   * crash); the task is counted by the attempt that succeeds, or, if none does, by the on-failure
   * destination or the task's deadline. @default false (the failure is recorded, not retried)
   */
  rethrow?: boolean;
}

const TASK = Symbol('fnmesh.task');

type TaskRequest = Request & { internal: Record<string | symbol, unknown> };

export function taskCompletion(options: TaskCompletionOptions): MiddlewareObj {
  if (!options?.client) throw new MeshConfigError('taskCompletion needs a DynamoDB client');
  if (!options.tableName) throw new MeshConfigError('taskCompletion needs the mesh table name');
  const { client, tableName, rethrow = false } = options;

  const taskCompletionBefore = (request: Request): void => {
    if (!isTaskEnvelope(request.event)) return;
    const task = request.event.fnmesh.task;
    if (task.tableName !== tableName)
      throw new InvalidInputError(
        'event.fnmesh.task.tableName',
        `this worker records to ${tableName}, not to ${JSON.stringify(task.tableName)}`,
      );
    if (!isValidShards(task.shards))
      throw new InvalidInputError('event.fnmesh.task.shards', `must be an integer from 1 to 100, got ${JSON.stringify(task.shards)}`);
    (request as TaskRequest).internal[TASK] = task;
    request.event = request.event.payload;
  };

  const taskCompletionAfter = async (request: Request): Promise<void> => {
    const task = (request as TaskRequest).internal[TASK] as TaskRef | undefined;
    if (task) await recordTaskOutcome(client, task, { ok: true });
  };

  const taskCompletionOnError = async (request: Request): Promise<void> => {
    const task = (request as TaskRequest).internal[TASK] as TaskRef | undefined;
    // Recorded even if another middleware already turned the error into a response: the task
    // failed either way, and an unrecorded task would leave its group waiting.
    if (!task) return;
    // Nothing recorded: Lambda retries the attempt, whose retry may yet succeed (a failure
    // recorded now would be final: a later success finds the task counted and changes nothing).
    if (rethrow || isEarlyTimeout(request.error)) return;
    const error = request.error as Error;
    const errorType = error?.name ?? 'Error';
    const errorMessage = error?.message ?? String(error);
    await recordTaskOutcome(client, task, { ok: false, errorType, errorMessage });
    if (request.response === undefined) request.response = { ok: false, error: { name: errorType, message: errorMessage } };
  };

  return { before: taskCompletionBefore, after: taskCompletionAfter, onError: taskCompletionOnError };
}

/**
 * middy's own timeout (`timeoutEarlyInMillis`, 5 ms before Lambda's by default): the attempt ran
 * out of time, as with Lambda's timeout, which records nothing.
 */
function isEarlyTimeout(error: unknown): boolean {
  const cause = (error as { cause?: { package?: unknown } } | null)?.cause;
  return (error as Error | null)?.name === 'TimeoutError' && cause?.package === '@middy/core';
}
