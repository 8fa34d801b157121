/**
 * Task deadlines (Temporal's start-to-close timeout): a task started by `Group.go` or
 * `WaitGroup.go` must report by `startedAt + taskTimeoutMs`. A waiter that still sees tasks
 * pending after the earliest deadline it knows looks for the tasks that have not reported (one
 * Query of the group's partition) and records each overdue one as failed, `TaskDeadlineExceeded`,
 * through the same exactly-once transaction a worker's report uses: whichever comes first counts,
 * the other changes nothing.
 */
import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { MeshConfigError } from '../errors.ts';
import { abortable, callOptions, type Now } from '../internal/time.ts';
import { type Item, readNumber, readString, TASK_SORT_KEY_PREFIX } from '../table/layout.ts';
import type { TaskRef } from './go.ts';
import { counterKey } from './shards.ts';
import { recordTaskOutcomes, RUNNING } from './taskRecord.ts';

/**
 * The default deadline, 15 minutes after `go`. Lambda tries a failed asynchronous event three
 * times, about 1 and then 2 minutes apart, each attempt up to the function's timeout; 15 minutes
 * covers all three attempts of a function whose timeout is up to 3 minutes (3 × 3 + 1 + 2 = 12
 * minutes), with 3 minutes to spare for the event's wait in Lambda's queue. A function with a
 * longer timeout needs `taskTimeoutMs` of at least 3 × its timeout + 3 minutes, plus slack (a
 * 15-minute function: 50 minutes); a shorter deadline declares lost a task whose last attempt may
 * still succeed (its report is then ignored).
 */
export const DEFAULT_TASK_TIMEOUT_MS = 15 * 60_000;

/** The errorType of a task recorded as failed because its deadline passed. */
export const TASK_DEADLINE_EXCEEDED = 'TaskDeadlineExceeded';

/** A task's deadline option: a positive integer of milliseconds. */
export function checkTaskTimeout(timeoutMs: number | undefined, fallback = DEFAULT_TASK_TIMEOUT_MS): number {
  if (timeoutMs === undefined) return fallback;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0)
    throw new MeshConfigError(`taskTimeoutMs must be a positive integer, got ${timeoutMs}`);
  return timeoutMs;
}

/** A task that had not reported when it was read. */
export interface RunningTask {
  taskId: string;
  functionName: string;
  startedAt: number;
  deadline: number;
}

/** Which group a task belongs to: everything of a TaskRef but the task. */
export type TaskGroupRef = Pick<TaskRef, 'kind' | 'tableName' | 'name' | 'shards'>;

/** A running task item read back, or undefined for an item that is not one (no deadline). */
export function runningTaskOf(group: TaskGroupRef, item: Item): RunningTask | undefined {
  const sortKey = readString(item, 'sk') ?? '';
  const deadline = readNumber(item, 'deadline');
  if (readString(item, 'status') !== RUNNING || deadline === undefined) return undefined;
  return {
    taskId: sortKey.slice(TASK_SORT_KEY_PREFIX[group.kind].length),
    functionName: readString(item, 'functionName') ?? '',
    startedAt: readNumber(item, 'startedAt') ?? deadline,
    deadline,
  };
}

/**
 * The tasks of a group that have not reported yet. Cost: 1 Query (consistent) per shard and per
 * 1 MB of its partition's task items (each item about 150 bytes: some 7,000 tasks a page); the
 * filter keeps the running ones, but every task item read is paid for (0.5 RCU per 4 KB,
 * consistent). A sharded group's shards are read one after the other.
 */
export async function runningTasks(client: DynamoDBClient, group: TaskGroupRef, signal?: AbortSignal): Promise<RunningTask[]> {
  const tasks: RunningTask[] = [];
  for (let shard = 0; shard < (group.shards ?? 1); shard++) tasks.push(...(await runningTasksOfShard(client, group, shard, signal)));
  return tasks;
}

async function runningTasksOfShard(
  client: DynamoDBClient,
  group: TaskGroupRef,
  shard: number,
  signal?: AbortSignal,
): Promise<RunningTask[]> {
  const partition = counterKey(group, shard).pk;
  const tasks: RunningTask[] = [];
  let start: Item | undefined;
  do {
    const page = await abortable(signal, () =>
      client.send(
        new QueryCommand({
          TableName: group.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          FilterExpression: '#status = :running',
          ProjectionExpression: 'sk, #status, functionName, startedAt, deadline',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pk': partition, ':prefix': { S: TASK_SORT_KEY_PREFIX[group.kind] }, ':running': { S: RUNNING } },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
        callOptions(signal),
      ),
    );
    for (const item of page.Items ?? []) {
      const task = runningTaskOf(group, item);
      if (task) tasks.push(task);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return tasks;
}

/**
 * Splits running tasks into the overdue ones (deadline at or before `now`) and the time of the
 * next deadline among the others (`now + recheckMs` at the latest: tasks started elsewhere after
 * this read are found by the next one).
 */
export function overdueTasks(
  tasks: readonly RunningTask[],
  now: number,
  recheckMs: number,
): { overdue: RunningTask[]; nextCheckAt: number } {
  const overdue = tasks.filter((task) => task.deadline <= now);
  const nextCheckAt = Math.min(now + recheckMs, ...tasks.filter((task) => task.deadline > now).map((task) => task.deadline));
  return { overdue, nextCheckAt };
}

/**
 * The deadline watch of one Group or WaitGroup object: when its waits should look for overdue
 * tasks, and the looking. It knows the deadlines of the tasks this object started (no call); a
 * waiter that started none looks once at its first poll that finds tasks pending, to learn them.
 * While tasks report in time, it makes no call at all.
 */
export class TaskDeadlines {
  /** When to look next; undefined: nothing known yet (look at the first poll with tasks pending). */
  private checkAt: number | undefined;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly group: TaskGroupRef,
    /** The group's task timeout: also how often to look again for tasks started elsewhere. */
    private readonly timeoutMs: number,
    private readonly now: Now = Date.now,
  ) {}

  /** Notes the deadline of a task this object started. No call. */
  started(deadline: number): void {
    this.checkAt = Math.min(this.checkAt ?? Infinity, deadline);
  }

  /**
   * Called by a poll that found tasks pending, `started` of which (ever) were started by `go`.
   * When a deadline it knows of has passed, reads the running tasks and records every overdue one
   * as failed (`TaskDeadlineExceeded`). Cost: nothing before then; then 1 Query, plus 1
   * TransactWriteItems per 99 overdue tasks of a shard.
   * @returns how many tasks this call recorded (the caller polls again at once if any)
   */
  async recordOverdue(started: number, signal?: AbortSignal): Promise<number> {
    if (started <= 0) return 0; // no task was started by go: none has a deadline
    const now = this.now();
    if (this.checkAt !== undefined && now < this.checkAt) return 0;
    const { overdue, nextCheckAt } = overdueTasks(await runningTasks(this.client, this.group, signal), now, this.timeoutMs);
    // Many at once (a bad deploy crashes every task): a transaction per 99 of a shard, so that
    // `wait` still ends by the deadline plus about one poll.
    const recorded = await recordTaskOutcomes(
      this.client,
      overdue.map((task) => ({
        task: { ...this.group, taskId: task.taskId, functionName: task.functionName },
        outcome: {
          ok: false as const,
          lost: true,
          errorType: TASK_DEADLINE_EXCEEDED,
          errorMessage:
            `no report by its deadline ${new Date(task.deadline).toISOString()} (${task.deadline - task.startedAt} ms after go): ` +
            'every attempt may have crashed or timed out, or it is still running (a late report is ignored)',
        },
      })),
      { ...(signal ? { signal } : {}), now },
    );
    this.checkAt = nextCheckAt;
    return recorded;
  }
}
