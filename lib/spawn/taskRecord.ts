/**
 * Recording a task's outcome exactly once: one TransactWriteItems that puts the task's marker
 * (only if it does not exist yet) and updates its group's counters. A retried worker's second
 * report fails the marker's condition and changes nothing.
 */
import { type DynamoDBClient, TransactionCanceledException, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { WaitGroupNegativeCounterError } from '../errors.ts';
import { transactWrite } from '../internal/conflicts.ts';
import { FORMAT_VERSION, keys, n, s, ttlSeconds } from '../table/layout.ts';
import type { TaskRef } from './go.ts';

/** Task markers are kept a week on AWS (TTL) for status and tracing; correctness never needs them. */
const MARKER_TTL_MS = 7 * 24 * 3600 * 1000;

export type TaskOutcome = { ok: true } | { ok: false; errorType: string; errorMessage: string };

function reasonCode(err: TransactionCanceledException, index: number): string | undefined {
  return err.CancellationReasons?.[index]?.Code;
}

/**
 * Records `outcome` for `task`. Cost: 1 TransactWriteItems.
 * @returns true if this call recorded it, false if it had been recorded before (a retry)
 * @throws WaitGroupNegativeCounterError when a wait group's counter is already zero
 */
export async function recordTaskOutcome(
  client: DynamoDBClient,
  task: TaskRef,
  outcome: TaskOutcome,
  options: { signal?: AbortSignal; now?: number } = {},
): Promise<boolean> {
  const now = options.now ?? Date.now();
  const markerKey = task.kind === 'group' ? keys.groupTask(task.name, task.taskId) : keys.waitGroupTask(task.name, task.taskId);
  const marker: TransactWriteItem = {
    Put: {
      TableName: task.tableName,
      Item: {
        ...markerKey,
        v: n(FORMAT_VERSION),
        status: s(outcome.ok ? 'succeeded' : 'failed'),
        functionName: s(task.functionName),
        finishedAt: n(now),
        expiresAt: ttlSeconds(now + MARKER_TTL_MS),
        ...(outcome.ok ? {} : { errorType: s(outcome.errorType), errorMessage: s(outcome.errorMessage) }),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
  const counter: TransactWriteItem =
    task.kind === 'group'
      ? {
          Update: {
            TableName: task.tableName,
            Key: keys.group(task.name),
            UpdateExpression: outcome.ok
              ? 'ADD #pending :minusOne, #succeeded :one'
              : 'ADD #pending :minusOne, #failed :one SET #firstError = if_not_exists(#firstError, :failure)',
            ExpressionAttributeNames: outcome.ok
              ? { '#pending': 'pending', '#succeeded': 'succeeded' }
              : { '#pending': 'pending', '#failed': 'failed', '#firstError': 'firstError' },
            ExpressionAttributeValues: {
              ':minusOne': n(-1),
              ':one': n(1),
              ...(outcome.ok
                ? {}
                : {
                    ':failure': {
                      M: {
                        taskId: s(task.taskId),
                        functionName: s(task.functionName),
                        errorType: s(outcome.errorType),
                        errorMessage: s(outcome.errorMessage),
                      },
                    },
                  }),
            },
          },
        }
      : {
          Update: {
            TableName: task.tableName,
            Key: keys.waitGroup(task.name),
            UpdateExpression: 'ADD #count :minusOne',
            ConditionExpression: '#count >= :one',
            ExpressionAttributeNames: { '#count': 'count' },
            ExpressionAttributeValues: { ':minusOne': n(-1), ':one': n(1) },
          },
        };
  try {
    await transactWrite(client, `${task.kind} ${task.name}: task ${task.taskId}`, { TransactItems: [marker, counter] }, options.signal);
    return true;
  } catch (err) {
    if (err instanceof TransactionCanceledException) {
      if (reasonCode(err, 0) === 'ConditionalCheckFailed') return false;
      if (reasonCode(err, 1) === 'ConditionalCheckFailed') throw new WaitGroupNegativeCounterError(task.name, -1);
    }
    throw err;
  }
}
