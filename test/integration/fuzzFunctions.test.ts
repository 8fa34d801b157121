/**
 * Property-based fuzzing of every deployed function: arbitrary JSON events, and SQS-shaped batches
 * with arbitrary records, get a result or a typed error — never a crash of the runtime, a timeout
 * or an untyped JavaScript error — and each function still serves a well-formed call afterwards.
 */
import { InvokeCommand } from '@aws-sdk/client-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { Channel } from '../../lib/channel/Channel.ts';
import { useTheStack, withPingChannel } from '../helpers/stack.ts';
import { dynamodb, lambda, sqs } from '../../infra/localstack/resources.ts';

useTheStack(); // the run's one deploy, shared (test/helpers/stack.ts)

/** Deliberate, typed refusals: ours, and Powertools' "every record of the batch failed" (each record reported). */
const TYPED = new Set(['InvalidInputError', 'MalformedRequestError', 'MalformedEnvelopeError', 'FullBatchFailureError']);

const sqsBatch = fc.record({
  Records: fc.array(
    fc.record({
      messageId: fc.string(),
      body: fc.oneof(
        fc.string(),
        fc.jsonValue().map((value) => JSON.stringify(value)),
      ),
      eventSourceARN: fc.oneof(fc.string(), fc.constant('arn:aws:sqs:us-east-1:000000000000:fnmesh-local-shard-1')),
      attributes: fc.dictionary(fc.string(), fc.string()),
    }),
    { maxLength: 3 },
  ),
});
const event = fc.oneof(fc.jsonValue(), sqsBatch, fc.constant(null), fc.string({ maxLength: 2000 }));

async function invoke(name: string, payload: unknown): Promise<{ errorType?: string; body: string }> {
  const response = await lambda.send(
    new InvokeCommand({ FunctionName: `fnmesh-local-${name}`, Payload: Buffer.from(JSON.stringify(payload) ?? 'null') }),
  );
  const body = response.Payload ? Buffer.from(response.Payload).toString() : '';
  return response.FunctionError ? { errorType: JSON.parse(body).errorType ?? response.FunctionError, body } : { body };
}

const wellFormed: Record<string, unknown> = {
  ping: { message: 'still alive?' },
  quoter: { fnmesh: 'rpc', v: 1, method: 'Quoter.Multiply', args: { A: 6, B: 7 } },
  record: { Records: [] },
  worker: { Records: [] },
  shard: { Records: [] },
  taskfailures: { Records: [] },
};

async function drainPing(count: number): Promise<void> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'fnmesh-local-ping' }));
  const ping = new Channel<number>({
    sqs,
    dynamodb,
    tableName: 'fnmesh-local-mesh',
    name: 'ping',
    queueUrl: QueueUrl!,
    waitTimeSeconds: 1,
  });
  for (let taken = 0; taken < count;) taken += (await ping.receiveMany(10, { signal: AbortSignal.timeout(30_000) })).length;
}

describe('every function under arbitrary events', () => {
  it.each(['ping', 'record', 'hello', 'channel', 'quoter', 'counter', 'square', 'worker', 'shard', 'taskfailures'])(
    '%s answers or refuses with a typed error, and keeps serving',
    // The channel function sends on the stack's ping channel: held meanwhile (test/helpers/stack.ts).
    (name) => (name === 'channel' ? withPingChannel(() => fuzz(name)) : fuzz(name)),
    120_000,
  );
});

async function fuzz(name: string): Promise<void> {
  const seen = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(event, async (payload) => {
      const { errorType, body } = await invoke(name, payload);
      seen.set(errorType ?? 'ok', (seen.get(errorType ?? 'ok') ?? 0) + 1);
      if (errorType) expect(TYPED.has(errorType), `${errorType}: ${body.slice(0, 300)}`).toBe(true);
    }),
    { numRuns: 20, seed: 20261126 },
  );
  if (wellFormed[name]) expect((await invoke(name, wellFormed[name])).errorType).toBeUndefined();
  // The channel function sent a value per event it accepted: take them back out of its
  // channel, so that the scenarios find it as they left it.
  if (name === 'channel') await drainPing(seen.get('ok') ?? 0);
}
