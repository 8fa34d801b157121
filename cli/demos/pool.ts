/**
 * pool: the seed's worker pool. Tasks go on the tasks channel; SQS-triggered worker Lambdas turn
 * each into `{ task, result: task² }` on the results channel; the driver collects them, matching
 * every result to its task. Failing tasks (`failOnce`) are redelivered and retried by SQS.
 */
import { z } from 'zod';
import { CHANNELS } from '../../infra/stack.ts';
import { Channel } from '../../lib/channel/Channel.ts';
import type { DemoRun } from './run.ts';
import type { TaskResult } from './squares.ts';

export interface PoolOptions {
  tasks: number;
  failOnce: number[];
}

const taskSchema = z.object({ runId: z.string(), task: z.number().int(), failOnce: z.boolean() });
const resultSchema = z.object({ runId: z.string(), task: z.number().int(), result: z.number().int() });

export async function pool({ ctx, out, runId, trace, traceId }: DemoRun, { tasks, failOnce }: PoolOptions) {
  const channel = { sqs: ctx.sqs, dynamodb: ctx.dynamodb, tableName: ctx.tableName, waitTimeSeconds: 1 };
  const taskChannel = new Channel({ ...channel, name: CHANNELS.tasks, queueUrl: await ctx.queueUrl(CHANNELS.tasks), schema: taskSchema });
  const results = new Channel({ ...channel, name: CHANNELS.results, queueUrl: await ctx.queueUrl(CHANNELS.results), schema: resultSchema });
  const startedAt = Date.now();
  await ctx.tracer.span({ traceId, parent: trace.parent ?? null, kind: 'channel', name: `send ${tasks} tasks on tasks` }, () =>
    taskChannel.sendMany(
      Array.from({ length: tasks }, (_, task) => ({ runId, task, failOnce: failOnce.includes(task) })),
      { trace },
    ),
  );
  const byTask = new Map<number, TaskResult>();
  let duplicates = 0;
  const signal = AbortSignal.timeout(180_000);
  await ctx.tracer.span(
    { traceId, parent: trace.parent ?? null, kind: 'channel', name: `receive ${tasks} results from results` },
    async () => {
      while (byTask.size < tasks) {
        for (const { body } of await results.receiveMany(10, { signal })) {
          if (body.runId !== runId) continue; // another run's result: taken and set aside
          if (byTask.has(body.task)) duplicates++;
          else byTask.set(body.task, { task: body.task, result: body.result });
        }
        out.progress('results', byTask.size, tasks, startedAt);
      }
    },
  );
  const sorted = [...byTask.values()].sort((a, b) => a.task - b.task);
  out.table(
    ['task', 'task²'],
    sorted.map(({ task, result }) => [task, result]),
  );
  return { tasks, results: sorted, duplicates };
}
