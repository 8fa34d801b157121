/**
 * squares: the seed's WaitGroup fan-out. Tasks 0..N−1 go to square workers as one Group; a task
 * that fails (one is made to fail on purpose with `failOnce`) is retried in the next round, until
 * every task has its result: each result matched to its task, none missing or duplicated.
 *
 * `retried` lists the tasks a later round completed, and the `failOnce` tasks whose first attempt
 * failed (its attempt marker is stored) and that have their result all the same: usually the next
 * round retried them, but a second delivery of the task's event (Lambda's asynchronous
 * invocations are at least once: strict mode makes some) can run the retry within the first round.
 */
import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { FUNCTIONS } from '../../infra/stack.ts';
import { GroupTaskError } from '../../lib/errors.ts';
import { Group } from '../../lib/spawn/Group.ts';
import { exampleKeys, RUN_SORT_KEY_PREFIX } from '../../lib/table/layout.ts';
import type { DemoRun } from './run.ts';

export interface SquaresOptions {
  tasks: number;
  /** Tasks whose first attempt fails on purpose. */
  failOnce: number[];
}

export interface TaskResult {
  task: number;
  result: number;
}

/** The results the square workers stored for a run (the pool demo gets its results on a channel instead). */
export async function storedResults(run: DemoRun): Promise<TaskResult[]> {
  const results: TaskResult[] = [];
  let start: Record<string, any> | undefined;
  do {
    const page = await run.ctx.dynamodb.send(
      new QueryCommand({
        TableName: run.ctx.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :result)',
        ExpressionAttributeValues: { ':pk': { S: exampleKeys.run(run.runId) }, ':result': { S: RUN_SORT_KEY_PREFIX.result } },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) results.push({ task: Number(item.task?.N), result: Number(item.result?.N) });
    start = page.LastEvaluatedKey;
  } while (start);
  return results.sort((a, b) => a.task - b.task);
}

export async function squares(run: DemoRun, { tasks, failOnce }: SquaresOptions) {
  const { ctx, out, runId, trace } = run;
  const startedAt = Date.now();
  let pending = Array.from({ length: tasks }, (_, task) => task);
  const retried = new Set<number>();
  for (let round = 1; pending.length && round <= 3; round++) {
    const group = new Group({
      dynamodb: ctx.dynamodb,
      lambda: ctx.lambda,
      tableName: ctx.tableName,
      id: `squares-${runId}-${round}`,
      limit: 16,
    });
    for (const task of pending)
      await group.go(ctx.functionName(FUNCTIONS.square), { runId, task, failOnce: failOnce.includes(task) }, { trace });
    try {
      await group.wait({ signal: AbortSignal.timeout(120_000) });
    } catch (err) {
      if (!(err instanceof GroupTaskError)) throw err;
      out.say(`round ${round}: ${err.failed} task(s) failed (first: task ${err.failure.taskId}: ${err.failure.errorType}); retrying them`);
    }
    const done = new Set((await storedResults(run)).map((result) => result.task));
    out.progress('squares done', done.size, tasks, startedAt);
    const missing = pending.filter((task) => !done.has(task));
    if (round > 1) for (const task of pending) if (done.has(task)) retried.add(task);
    pending = missing;
  }
  const results = await storedResults(run);
  if (results.length !== tasks) throw new Error(`squares: ${tasks - results.length} task(s) still without a result after 3 rounds`);
  for (const task of new Set(failOnce)) {
    if (!(task >= 0 && task < tasks) || retried.has(task)) continue;
    const { Item } = await ctx.dynamodb.send(
      new GetItemCommand({ TableName: ctx.tableName, Key: exampleKeys.runAttempt(runId, task), ConsistentRead: true }),
    );
    if (Item) retried.add(task);
  }
  out.table(
    ['task', 'task²'],
    results.map(({ task, result }) => [task, result]),
  );
  return { tasks, results, retried: [...retried].sort((a, b) => a - b) };
}
