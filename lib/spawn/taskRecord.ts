/**
 * A task's item, from its start to its one recorded outcome.
 *
 *   start   (go)      TransactWriteItems: Put the task item (status running, deadline) if absent
 *                     + count it in on its group or wait group
 *   outcome (once)    TransactWriteItems: the task item becomes succeeded|failed if it is still
 *                     running (a wait group's: or absent, for `done` after `add`) + count it out
 *
 * A retried worker's second report, a report after the deadline was recorded, or a second copy
 * of a dead-letter record fails the task item's condition and changes nothing; so does a report
 * for a task its group never started (a stray record, a sample event), which would otherwise
 * count a task out that was never counted in and end the group's `wait` early.
 */
import { type DynamoDBClient, TransactionCanceledException, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { DuplicateTaskError, WaitGroupNegativeCounterError } from '../errors.ts';
import { transactWrite } from '../internal/conflicts.ts';
import { checkShards, MAX_STORED_ERROR_CHARS, n, s, ttlSeconds } from '../table/layout.ts';
import type { TaskRef } from './go.ts';
import { checkShardsOf, counterKey, formatOf, shardGuard, shardOf, taskKey } from './shards.ts';

export { taskKey } from './shards.ts';

/** Task items are kept a week on AWS (TTL) for status and tracing; correctness never needs them. */
const MARKER_TTL_MS = 7 * 24 * 3600 * 1000;

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

/** The counter item a task counts in and out on: its shard's group item or wait group counter. */
function taskCounterKey(task: TaskRef) {
  return counterKey(task, shardOf(task.taskId, task.shards));
}

/**
 * A cancelled transaction whose counter (item `index`) was refused because the group has another
 * shard count: ShardCountMismatchError (from the ALL_OLD the refusal carries).
 */
function checkCounterRefusal(task: TaskRef, err: TransactionCanceledException, index: number): void {
  const reason = err.CancellationReasons?.[index];
  if (reason?.Code === 'ConditionalCheckFailed') checkShardsOf(task, reason.Item);
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
  const shards = checkShards(task.shards);
  const version = formatOf(shards);
  const guard = shardGuard(shards);
  const item: TransactWriteItem = {
    Put: {
      TableName: task.tableName,
      Item: {
        ...taskKey(task),
        v: n(version),
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
      Key: taskCounterKey(task),
      UpdateExpression: `ADD #pending :one, #started :one${guard.add} SET #v = :v${guard.set}`,
      ConditionExpression: guard.condition,
      ExpressionAttributeNames: { '#pending': pending, '#started': 'started', '#v': 'v', ...guard.names },
      ExpressionAttributeValues: { ':one': n(1), ':v': n(version), ...guard.values },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
  try {
    await transactWrite(client, `${task.kind} ${task.name}: start ${task.taskId}`, { TransactItems: [item, counter] }, signal);
  } catch (err) {
    if (err instanceof TransactionCanceledException) {
      checkCounterRefusal(task, err, 1);
      if (reasonCode(err, 0) === 'ConditionalCheckFailed') throw new DuplicateTaskError(`${task.kind} ${task.name}`, task.taskId);
    }
    throw err;
  }
}

/**
 * The counter's side of an outcome: count the task out, and keep the first failure (or loss). A
 * sharded group keeps a first failure per shard, with its `finishedAt`: the group's first is the
 * earliest of them.
 */
function countOut(task: TaskRef, outcome: TaskOutcome, now: number, count = 1): TransactWriteItem {
  const shards = task.shards ?? 1;
  const guard = shardGuard(shards);
  const failure = outcome.ok
    ? undefined
    : {
        M: {
          taskId: s(task.taskId),
          functionName: s(task.functionName),
          errorType: s(outcome.errorType),
          errorMessage: s(outcome.errorMessage.slice(0, MAX_STORED_ERROR_CHARS)),
          ...(shards > 1 ? { finishedAt: n(now) } : {}),
        },
      };
  const sharded = shards > 1 ? { set: `SET #v = :v${guard.set}`, values: { ':v': n(formatOf(shards)) } } : { set: '', values: {} };
  /** `SET a, b` joined with the sharded group's own SETs. */
  const withSet = (update: string, sets: string) =>
    sets ? `${update} ${sharded.set ? `${sharded.set}, ${sets}` : `SET ${sets}`}` : `${update}${sharded.set ? ` ${sharded.set}` : ''}`;
  if (task.kind === 'group') {
    return {
      Update: {
        TableName: task.tableName,
        Key: taskCounterKey(task),
        UpdateExpression: failure
          ? withSet(`ADD #pending :minusOne, #failed :one${guard.add}`, '#firstError = if_not_exists(#firstError, :failure)')
          : withSet(`ADD #pending :minusOne, #succeeded :one${guard.add}`, ''),
        ConditionExpression: guard.condition,
        ExpressionAttributeNames: {
          ...(failure
            ? { '#pending': 'pending', '#failed': 'failed', '#firstError': 'firstError' }
            : { '#pending': 'pending', '#succeeded': 'succeeded' }),
          ...(shards > 1 ? { '#v': 'v' } : {}),
          ...guard.names,
        },
        ExpressionAttributeValues: {
          ':minusOne': n(-count),
          ':one': n(count),
          ...(failure ? { ':failure': failure } : {}),
          ...sharded.values,
          ...guard.values,
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }
  // A wait group counts a task done whatever its outcome (Go's WaitGroup carries no errors), but
  // keeps the tasks that were lost apart, for `wait` to report. A sharded wait group's shard counts
  // are signed (`add` counts in on shard 0, `done` out on the task's shard): only their sum must not
  // go below zero, which `count` and `wait` check.
  const lost = failure && !outcome.ok && outcome.lost;
  return {
    Update: {
      TableName: task.tableName,
      Key: taskCounterKey(task),
      UpdateExpression: lost
        ? withSet(`ADD #count :minusOne, #lost :one${guard.add}`, '#firstLost = if_not_exists(#firstLost, :failure)')
        : withSet(`ADD #count :minusOne${guard.add}`, ''),
      ConditionExpression: shards > 1 ? guard.condition : `#count >= :one AND ${guard.condition}`,
      ExpressionAttributeNames: {
        '#count': 'count',
        ...(lost ? { '#lost': 'lost', '#firstLost': 'firstLost' } : {}),
        ...(shards > 1 ? { '#v': 'v' } : {}),
        ...guard.names,
      },
      ExpressionAttributeValues: {
        ':minusOne': n(-count),
        ':one': n(count),
        ...(lost ? { ':failure': failure } : {}),
        ...sharded.values,
        ...guard.values,
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

/** The task item's side of an outcome: `succeeded` or `failed`, if it is still running (or, in a wait group, absent). */
function outcomeMarker(task: TaskRef, outcome: TaskOutcome, now: number): TransactWriteItem {
  const shards = checkShards(task.shards);
  return {
    Update: {
      TableName: task.tableName,
      Key: taskKey(task),
      UpdateExpression:
        'SET #status = :status, #functionName = if_not_exists(#functionName, :functionName), #finishedAt = :now, #expiresAt = :expiresAt, #v = :v' +
        (outcome.ok ? '' : ', #errorType = :errorType, #errorMessage = :errorMessage'),
      // A group's tasks all start with `go`, which writes the item; a wait group also counts
      // tasks its `add` counted in, which have none.
      ConditionExpression: task.kind === 'group' ? '#status = :running' : 'attribute_not_exists(pk) OR #status = :running',
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
        ':v': n(formatOf(shards)),
        ...(outcome.ok
          ? {}
          : { ':errorType': s(outcome.errorType), ':errorMessage': s(outcome.errorMessage.slice(0, MAX_STORED_ERROR_CHARS)) }),
      },
    },
  };
}

/**
 * Records `outcome` for `task`, if nothing was recorded for it yet: the task item becomes
 * `succeeded` or `failed` (it is `running` since `go`; a wait group's may be absent, for a task its
 * `add` counted in), and the task is counted out.
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
  return (await recordTaskOutcomes(client, [{ task, outcome }], options)) === 1;
}

/** Tasks per transaction of `recordTaskOutcomes`: their items and their shard's counter (100 actions at most). */
const OUTCOMES_PER_TRANSACTION = 99;

/**
 * Records many tasks' outcomes (a waiter's overdue tasks), each once, as `recordTaskOutcome`
 * would, a transaction per up to 99 tasks of one shard (and one kind of outcome): their items, and their shard's counter
 * counted out by their number at once (a counter item may appear once in a transaction). A task
 * that reported meanwhile cancels its transaction; it is then sent again without it.
 * Cost: 1 TransactWriteItems per 99 tasks of a shard (+ 1 per task found reported).
 * @returns how many of the tasks these calls recorded
 * @throws WaitGroupNegativeCounterError when a wait group's counter would go below zero
 */
export async function recordTaskOutcomes(
  client: DynamoDBClient,
  outcomes: readonly { task: TaskRef; outcome: TaskOutcome }[],
  options: { signal?: AbortSignal; now?: number } = {},
): Promise<number> {
  const now = options.now ?? Date.now();
  const byCounter = new Map<string, { task: TaskRef; outcome: TaskOutcome }[]>();
  for (const entry of outcomes) {
    // One counter update counts a chunk out as its first task's outcome would, times their number:
    // the tasks of a chunk share their shard and the kind of their outcome.
    const { ok } = entry.outcome;
    const lost = !entry.outcome.ok && entry.outcome.lost === true;
    const key = `${shardOf(entry.task.taskId, checkShards(entry.task.shards))}|${ok}|${lost}`;
    let entries = byCounter.get(key);
    if (!entries) byCounter.set(key, (entries = []));
    entries.push(entry);
  }
  let recorded = 0;
  for (const entries of byCounter.values()) {
    for (let at = 0; at < entries.length; at += OUTCOMES_PER_TRANSACTION) {
      let chunk = entries.slice(at, at + OUTCOMES_PER_TRANSACTION);
      while (chunk.length) {
        const first = chunk[0]!;
        const items = [
          ...chunk.map(({ task, outcome }) => outcomeMarker(task, outcome, now)),
          countOut(first.task, first.outcome, now, chunk.length),
        ];
        try {
          const what = chunk.length === 1 ? `task ${first.task.taskId}` : `${chunk.length} tasks`;
          await transactWrite(client, `${first.task.kind} ${first.task.name}: ${what}`, { TransactItems: items }, options.signal);
          recorded += chunk.length;
          break;
        } catch (err) {
          if (!(err instanceof TransactionCanceledException)) throw err;
          checkCounterRefusal(first.task, err, chunk.length); // another shard count: whatever else refused
          // Tasks that reported first (their items refuse): send again without them. Only then
          // may the counter's own refusal be judged (it counted their reports out already).
          const reported = new Set(chunk.flatMap((_, index) => (reasonCode(err, index) === 'ConditionalCheckFailed' ? [index] : [])));
          if (!reported.size) {
            if (reasonCode(err, chunk.length) === 'ConditionalCheckFailed')
              throw new WaitGroupNegativeCounterError(first.task.name, -chunk.length);
            throw err;
          }
          chunk = chunk.filter((_, index) => !reported.has(index)); // they reported already
        }
      }
    }
  }
  return recorded;
}
