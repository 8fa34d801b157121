/**
 * counter: W workers × N increments, concurrently, through the deployed counter function, under
 * one distributed lock → exactly W×N. `--unsafe`: three locks on one counter, as in the seed.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { FUNCTIONS } from '../../infra/stack.ts';
import { exampleKeys } from '../../lib/table/layout.ts';
import type { DemoRun } from './run.ts';

export interface CounterOptions {
  workers: number;
  increments: number;
  unsafe: boolean;
}

export async function counter({ ctx, out, runId, trace }: DemoRun, { workers, increments, unsafe }: CounterOptions) {
  const name = `demo-${runId}`;
  const startedAt = Date.now();
  let finished = 0;
  const invocations = Array.from({ length: workers }, async (_, worker) => {
    const payload = { counter: name, increments, worker, unsafe, trace };
    const response = await ctx.lambda.send(
      new InvokeCommand({ FunctionName: ctx.functionName(FUNCTIONS.counter), Payload: Buffer.from(JSON.stringify(payload)) }),
    );
    const body = JSON.parse(Buffer.from(response.Payload ?? new Uint8Array()).toString() || 'null');
    if (response.FunctionError) throw new Error(`worker ${worker} failed: ${body?.errorType}: ${body?.errorMessage}`);
    out.progress('workers done', ++finished, workers, startedAt);
    return body;
  });
  await Promise.all(invocations);
  const { Item } = await ctx.dynamodb.send(
    new GetItemCommand({ TableName: ctx.tableName, Key: exampleKeys.counter(name), ConsistentRead: true }),
  );
  const expected = workers * increments;
  const actual = Number(Item?.value?.N ?? 0);
  out.say(
    `${workers} workers × ${increments} increments${unsafe ? ' (unsafe: three locks)' : ''}: expected ${expected}, counted ${actual}`,
  );
  return { expected, actual, lostUpdates: expected - actual, unsafe, counter: name };
}
