/**
 * LocalStack restarted mid-run (a second instance, on a free port): while it is down, calls fail
 * with the connection error after the SDK's retries; once it is back, the same clients work again
 * — but LocalStack here keeps no state across a restart, so the resources must be created again
 * (`fnmesh deploy`), and every lock's fences start again at 1.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, expect, it } from 'vitest';
import { down, up } from '../../infra/localstack/localstack.ts';
import { Channel } from '../../lib/channel/Channel.ts';
import { Mutex } from '../../lib/sync/Mutex.ts';
import { createMeshTableNamed } from '../../infra/localstack/resources.ts';
import { scratchLocalStack, type ScratchLocalStack } from '../../infra/localstack/scratch.ts';

let scratch: ScratchLocalStack | undefined;

afterAll(async () => {
  await scratch?.remove();
});

it('fails clearly while LocalStack is down, and the same clients resume once it is back and the stack is recreated', async () => {
  scratch = await scratchLocalStack('restart');
  const quiet = { instance: scratch.instance, log: () => {} };
  const config = { ...scratch.config, maxAttempts: 3 };
  const dynamodb = new DynamoDBClient(config);
  const sqs = new SQSClient(config);
  const createStack = async () => {
    await createMeshTableNamed('mesh', dynamodb);
    return (await sqs.send(new CreateQueueCommand({ QueueName: 'values' }))).QueueUrl!;
  };
  await up(quiet);
  const queueUrl = await createStack();
  const mutex = new Mutex({ client: dynamodb, tableName: 'mesh', name: 'restart' });
  const channel = new Channel<number>({ sqs, dynamodb, tableName: 'mesh', name: 'values', queueUrl, waitTimeSeconds: 1 });
  const first = await mutex.lock();
  await first.unlock();
  await channel.send(1);

  await down({ ...quiet, graceMs: 5000 });
  const whileDown = (await mutex.lock({ signal: AbortSignal.timeout(30_000) }).catch((err: unknown) => err)) as Error & {
    code?: string;
    $metadata?: { attempts?: number };
  };
  expect(whileDown.code).toBe('ECONNREFUSED'); // the connection error itself, after the SDK's 3 attempts
  expect(whileDown.$metadata?.attempts).toBe(3);

  await up(quiet);
  // Nothing survived the restart: the table and the queue (and the value in it) are gone.
  await expect(channel.len()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  await createStack();
  const again = await mutex.lock();
  expect(again.fence).toBe(1); // the lock's fence counter was lost with the table
  await again.unlock();
  await channel.send(2);
  expect(await channel.receive({ signal: AbortSignal.timeout(10_000) })).toMatchObject({ ok: true, value: 2 });
}, 240_000);
