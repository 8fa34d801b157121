/**
 * Tasks Lambda gave up on. A tracked worker's asynchronous invocation that fails on every attempt
 * (or waits in Lambda's queue too long) goes to the function's on-failure destination, an SQS
 * queue, as an invocation record:
 *
 *   { "requestContext": { "condition": "RetriesExhausted", "approximateInvokeCount": 3, ... },
 *     "requestPayload": <the task envelope>,
 *     "responsePayload": { "errorType": "...", "errorMessage": "..." }, ... }
 *
 * The task never reported; this records it as failed (lost) with Lambda's reason, through the same
 * exactly-once transaction as a worker's report, well before its deadline would.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { checkName } from '../table/layout.ts';
import { isTaskEnvelope, type TaskRef } from './go.ts';
import { isValidShards } from './shards.ts';
import { recordTaskOutcome, type TaskOutcome } from './taskRecord.ts';

/** What an on-failure record says about a task, or why it says nothing this mesh can record. */
export type LostTask = { ok: true; task: TaskRef; outcome: Extract<TaskOutcome, { ok: false }> } | { ok: false; reason: string };

function isValidName(name: unknown): name is string {
  try {
    checkName('name', name as string);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads an on-failure destination record (the SQS message body): the task it carries, and the
 * failure to record for it (errorType: Lambda's condition, e.g. `RetriesExhausted` or
 * `EventAgeExceeded`; errorMessage: the attempts and the last attempt's error). Pure.
 * @param tableName this mesh's table: a record whose task names another is not recorded here
 */
export function lostTaskOf(body: string, tableName: string): LostTask {
  let record: Record<string, any>;
  try {
    record = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'the body is not JSON' };
  }
  if (typeof record !== 'object' || record === null) return { ok: false, reason: 'the body is not an invocation record' };
  const payload = record.requestPayload;
  if (!isTaskEnvelope(payload)) return { ok: false, reason: 'the failed event is not a task envelope (an untracked invocation)' };
  const { kind, tableName: taskTable, name, taskId, functionName, shards } = payload.fnmesh.task as unknown as Record<string, unknown>;
  if (kind !== 'group' && kind !== 'waitgroup') return { ok: false, reason: `unknown task kind ${JSON.stringify(kind)}` };
  if (taskTable !== tableName) return { ok: false, reason: `the task belongs to table ${JSON.stringify(taskTable)}, not ${tableName}` };
  if (!isValidName(name) || !isValidName(taskId) || typeof functionName !== 'string')
    return { ok: false, reason: 'the task envelope names no valid group, task id or function' };
  if (!isValidShards(shards)) return { ok: false, reason: `the task envelope's shards ${JSON.stringify(shards)} is not a shard count` };

  const context = (record.requestContext ?? {}) as Record<string, unknown>;
  const condition = typeof context.condition === 'string' && context.condition ? context.condition : 'InvocationFailed';
  const attempts = typeof context.approximateInvokeCount === 'number' ? context.approximateInvokeCount : undefined;
  const response = (record.responsePayload ?? {}) as Record<string, unknown>;
  const lastError =
    typeof response.errorType === 'string'
      ? `${response.errorType}: ${typeof response.errorMessage === 'string' ? response.errorMessage : ''}`
      : undefined;
  const errorMessage =
    `Lambda gave up on the invocation (${condition}` +
    (attempts !== undefined ? `, ${attempts} attempt${attempts === 1 ? '' : 's'}` : '') +
    ')' +
    (lastError ? `; the last attempt failed with ${lastError}` : '');
  return {
    ok: true,
    task: { kind, tableName, name, taskId, functionName, ...(shards !== undefined && shards > 1 ? { shards } : {}) },
    outcome: { ok: false, lost: true, errorType: condition, errorMessage },
  };
}

/**
 * Records the task of an on-failure record as failed, once. Cost: 1 TransactWriteItems for a
 * task of this mesh, nothing otherwise.
 * @returns `recorded` (this call counted it), `reported` (the task had reported already: a worker's
 *   late report, its deadline, or another copy of this record; or its group never started it),
 *   or `ignored` with the reason
 * @throws WaitGroupNegativeCounterError when a wait group's counter is already zero
 */
export async function recordLostTask(
  client: DynamoDBClient,
  tableName: string,
  body: string,
  options: { signal?: AbortSignal } = {},
): Promise<{ result: 'recorded' | 'reported'; task: TaskRef } | { result: 'ignored'; reason: string }> {
  const lost = lostTaskOf(body, tableName);
  if (!lost.ok) return { result: 'ignored', reason: lost.reason };
  const recorded = await recordTaskOutcome(client, lost.task, lost.outcome, options);
  return { result: recorded ? 'recorded' : 'reported', task: lost.task };
}
