/**
 * A task's item, from its start to its one recorded outcome.
 *
 *   start   (go)      TransactWriteItems: Put the task item (status running, deadline) if absent
 *                     + count it in on its group or wait group
 *   outcome (once)    TransactWriteItems: the task item becomes succeeded|failed if it is absent or
 *                     still running + count it out
 *
 * A retried worker's second report, a report after the deadline was recorded, or a second copy
 * of a dead-letter record fails the task item's condition and changes nothing.
 */
import { type DynamoDBClient, TransactionCanceledException, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { DuplicateTaskError, WaitGroupNegativeCounterError } from '../errors.ts';
import { transactWrite } from '../internal/conflicts.ts';
import { FORMAT_VERSION, type Key, keys, n, s, ttlSeconds } from '../table/layout.ts';
import type { TaskRef } from './go.ts';

/** Task items are kept a week on AWS (TTL) for status and tracing; correctness never needs them. */
const MARKER_TTL_MS = 7 * 24 * 3600 * 1000;

/** A failure message is cut to this many characters (a Lambda error message can be long). */
const MAX_ERROR_MESSAGE_CHARS = 2000;

/**
 * A task's outcome. `lost` marks a task that never reported (its deadline passed, or Lambda gave
 * up on it): a WaitGroup counts those apart (`lost`, `firstLost`) so that its `wait` can say so.
 */
export type TaskOutcome = { ok: true } | { ok: false; errorType: string; errorMessage: string; lost?: boolean };

/** The task item's status while the task runs (written by `go`, replaced by the outcome). */
export const RUNNING = 'running';

function reasonCode(err: TransactionCanceledException, index: number): string | undefined {
  return err.CancellationReasons?.[index]?.Code;
}

/** The task item's key: `task#<taskId>` in a group, `done#<taskId>` in a wait group. */
export function taskKey(task: Pick<TaskRef, 'kind' | 'name' | 'taskId'>): Key {
  return task.kind === 'group' ? keys.groupTask(task.name, task.taskId) : keys.waitGroupTask(task.name, task.taskId);
}

/** The counter item a task counts in and out on: the group item, or the wait group's counter. */
function counterKey(task: Pick<TaskRef, 'kind' | 'name'>): Key {
  return task.kind === 'group' ? keys.group(task.name) : keys.waitGroup(task.name);
}

/**
 * Counts `task` in and writes its item (status `running`, `startedAt`, `deadline`), in one
 * transaction, before its worker is invoked. Cost: 1 TransactWriteItems (2 items).
 * @throws DuplicateTaskError if this task id was started before (nothing changes)
 */
export async function recordTaskStart(
  client: DynamoDBClient,
  task: TaskRef,
  times: { startedAt: number; deadline: number },
  signal?: AbortSignal,
): Promise<void> {
  const item: TransactWriteItem = {
    Put: {
      TableName: task.tableName,
      Item: {
        ...taskKey(task),
        v: n(FORMAT_VERSION),
        status: s(RUNNING),
        functionName: s(task.functionName),
        startedAt: n(times.startedAt),
        deadline: n(times.deadline),
        expiresAt: ttlSeconds(times.deadline + MARKER_TTL_MS),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
  const pending = task.kind === 'group' ? 'pending' : 'count';
  const counter: TransactWriteItem = {
    Update: {
      TableName: task.tableName,
      Key: counterKey(task),
      UpdateExpression: 'ADD #pending :one, #started :one SET #v = :v',
      ExpressionAttributeNames: { '#pending': pending, '#started': 'started', '#v': 'v' },
      ExpressionAttributeValues: { ':one': n(1), ':v': n(FORMAT_VERSION) },
    },
  };
  try {
    await transactWrite(client, `${task.kind} ${task.name}: start ${task.taskId}`, { TransactItems: [item, counter] }, signal);
  } catch (err) {
    if (err instanceof TransactionCanceledException && reasonCode(err, 0) === 'ConditionalCheckFailed')
      throw new DuplicateTaskError(`${task.kind} ${task.name}`, task.taskId);
    throw err;
  }
}

/** The counter's side of an outcome: count the task out, and keep the first failure (or loss). */
function countOut(task: TaskRef, outcome: TaskOutcome): TransactWriteItem {
  const failure = outcome.ok
    ? undefined
    : {
        M: {
          taskId: s(task.taskId),
          functionName: s(task.functionName),
          errorType: s(outcome.errorType),
          errorMessage: s(outcome.errorMessage.slice(0, MAX_ERROR_MESSAGE_CHARS)),
        },
      };
  if (task.kind === 'group') {
    return {
      Update: {
        TableName: task.tableName,
        Key: counterKey(task),
        UpdateExpression: failure
          ? 'ADD #pending :minusOne, #failed :one SET #firstError = if_not_exists(#firstError, :failure)'
          : 'ADD #pending :minusOne, #succeeded :one',
        ExpressionAttributeNames: failure
          ? { '#pending': 'pending', '#failed': 'failed', '#firstError': 'firstError' }
          : { '#pending': 'pending', '#succeeded': 'succeeded' },
        ExpressionAttributeValues: { ':minusOne': n(-1), ':one': n(1), ...(failure ? { ':failure': failure } : {}) },
      },
    };
  }
  // A wait group counts a task done whatever its outcome (Go's WaitGroup carries no errors), but
  // keeps the tasks that were lost apart, for `wait` to report.
  const lost = failure && !outcome.ok && outcome.lost;
  return {
    Update: {
      TableName: task.tableName,
      Key: counterKey(task),
      UpdateExpression: lost
        ? 'ADD #count :minusOne, #lost :one SET #firstLost = if_not_exists(#firstLost, :failure)'
        : 'ADD #count :minusOne',
      ConditionExpression: '#count >= :one',
      ExpressionAttributeNames: { '#count': 'count', ...(lost ? { '#lost': 'lost', '#firstLost': 'firstLost' } : {}) },
      ExpressionAttributeValues: { ':minusOne': n(-1), ':one': n(1), ...(lost ? { ':failure': failure } : {}) },
    },
  };
}

/**
 * Records `outcome` for `task`, if nothing was recorded for it yet: the task item becomes
 * `succeeded` or `failed` (it may be absent, or `running` since `go`), and the task is counted out.
 * Cost: 1 TransactWriteItems (2 items).
 * @returns true if this call recorded it, false if it had been recorded before (a retry, a late
 *   report after the deadline, a second copy of a dead-letter record)
 * @throws WaitGroupNegativeCounterError when a wait group's counter is already zero
 */
export async function recordTaskOutcome(
  client: DynamoDBClient,
  task: TaskRef,
  outcome: TaskOutcome,
  options: { signal?: AbortSignal; now?: number } = {},
): Promise<boolean> {
  const now = options.now ?? Date.now();
  const marker: TransactWriteItem = {
    Update: {
      TableName: task.tableName,
      Key: taskKey(task),
      UpdateExpression:
        'SET #status = :status, #functionName = if_not_exists(#functionName, :functionName), #finishedAt = :now, #expiresAt = :expiresAt, #v = :v' +
        (outcome.ok ? '' : ', #errorType = :errorType, #errorMessage = :errorMessage'),
      ConditionExpression: 'attribute_not_exists(pk) OR #status = :running',
      ExpressionAttributeNames: {
        '#status': 'status',
        '#functionName': 'functionName',
        '#finishedAt': 'finishedAt',
        '#expiresAt': 'expiresAt',
        '#v': 'v',
        ...(outcome.ok ? {} : { '#errorType': 'errorType', '#errorMessage': 'errorMessage' }),
      },
      ExpressionAttributeValues: {
        ':status': s(outcome.ok ? 'succeeded' : 'failed'),
        ':running': s(RUNNING),
        ':functionName': s(task.functionName),
        ':now': n(now),
        ':expiresAt': ttlSeconds(now + MARKER_TTL_MS),
        ':v': n(FORMAT_VERSION),
        ...(outcome.ok
          ? {}
          : { ':errorType': s(outcome.errorType), ':errorMessage': s(outcome.errorMessage.slice(0, MAX_ERROR_MESSAGE_CHARS)) }),
      },
    },
  };
  try {
    await transactWrite(
      client,
      `${task.kind} ${task.name}: task ${task.taskId}`,
      { TransactItems: [marker, countOut(task, outcome)] },
      options.signal,
    );
    return true;
  } catch (err) {
    if (err instanceof TransactionCanceledException) {
      if (reasonCode(err, 0) === 'ConditionalCheckFailed') return false;
      if (reasonCode(err, 1) === 'ConditionalCheckFailed') throw new WaitGroupNegativeCounterError(task.name, -1);
    }
    throw err;
  }
}
