/**
 * taskCompletion: the middy middleware a tracked worker uses. When the event is a task envelope
 * (sent by `Group.go` or `WaitGroup.go`), the handler gets the payload alone, and when it ends
 * the middleware records the outcome on the group or wait group exactly once per task id,
 * whatever the retries (one TransactWriteItems).
 *
 * A failed task is recorded and the error is then swallowed (the invocation returns
 * `{ ok: false, error }`): the group reports it, and Lambda does not retry the asynchronous
 * invocation (which would run the task again after its failure was already counted). Set
 * `rethrow: true` to let Lambda retry anyway. A worker that crashes or times out records
 * nothing; Lambda's retries then run it again.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { MiddlewareObj, Request } from '@middy/core';
import { MeshConfigError } from '../errors.ts';
import { isTaskEnvelope, type TaskRef } from '../spawn/go.ts';
import { recordTaskOutcome } from '../spawn/taskRecord.ts';

export interface TaskCompletionOptions {
  client: DynamoDBClient;
  /** Rethrow a failed task's error after recording it (Lambda then retries). @default false */
  rethrow?: boolean;
}

const TASK = Symbol('fnmesh.task');

type TaskRequest = Request & { internal: Record<string | symbol, unknown> };

export function taskCompletion(options: TaskCompletionOptions): MiddlewareObj {
  if (!options?.client) throw new MeshConfigError('taskCompletion needs a DynamoDB client');
  const { client, rethrow = false } = options;

  const taskCompletionBefore = (request: Request): void => {
    if (!isTaskEnvelope(request.event)) return;
    (request as TaskRequest).internal[TASK] = request.event.fnmesh.task;
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
    const error = request.error as Error;
    const errorType = error?.name ?? 'Error';
    const errorMessage = error?.message ?? String(error);
    await recordTaskOutcome(client, task, { ok: false, errorType, errorMessage });
    if (!rethrow && request.response === undefined) request.response = { ok: false, error: { name: errorType, message: errorMessage } };
  };

  return { before: taskCompletionBefore, after: taskCompletionAfter, onError: taskCompletionOnError };
}
