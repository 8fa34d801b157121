/** hello: the caller spawns a worker goroutine (an asynchronous invoke); both say Hello, World!. */
import { FUNCTIONS } from '../../infra/stack.ts';
import { WaitGroup } from '../../lib/sync/WaitGroup.ts';
import type { DemoRun } from './run.ts';

export async function hello({ ctx, out, runId, trace }: DemoRun) {
  const wg = new WaitGroup({ client: ctx.dynamodb, tableName: ctx.tableName, name: `hello-${runId}` });
  const taskId = await wg.go(ctx.lambda, ctx.functionName(FUNCTIONS.hello), { from: 'the fnmesh CLI' }, { trace });
  out.say('Hello, World!   (the caller)');
  await wg.wait({ signal: AbortSignal.timeout(60_000) });
  out.say('Hello, World!   (the worker, in its log; it has marked its WaitGroup task done)');
  return { greeting: 'Hello, World!', workerRan: true, taskId };
}
