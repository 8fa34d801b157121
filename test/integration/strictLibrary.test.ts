/**
 * The primitives on a strict LocalStack (docs/STRICT.md, default settings): concurrent writers of
 * one item meet AWS's transaction conflicts, and the library retries them (same client request
 * token, jittered backoff) instead of passing them up or mistaking them for a refusal.
 */
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { countedClients } from '../../infra/localstack/clients.ts';
import { createMeshTableNamed } from '../../infra/localstack/resources.ts';
import { scratchLocalStack, type ScratchLocalStack, startScratch } from '../../infra/localstack/scratch.ts';
import { CallCounter } from '../../lib/faults/callCounter.ts';
import { strictStatus } from '../../infra/localstack/localstack.ts';
import { Channel } from '../../lib/channel/Channel.ts';
import { ChannelClosedError } from '../../lib/errors.ts';
import { WaitGroup } from '../../lib/sync/WaitGroup.ts';

let scratch: ScratchLocalStack;
let dynamodb: DynamoDBClient;
let sqs: SQSClient;
const tableName = 'mesh';

beforeAll(async () => {
  scratch = await scratchLocalStack('strict-library');
  await startScratch(scratch, { FNMESH_STRICT: '1', FNMESH_STRICT_SEED: '11' });
  dynamodb = new DynamoDBClient(scratch.config);
  sqs = new SQSClient(scratch.config);
  await createMeshTableNamed(tableName, dynamodb);
}, 300_000);

afterAll(async () => {
  await scratch?.remove();
});

async function channel(name: string): Promise<Channel<number>> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  return new Channel<number>({ sqs, dynamodb, tableName, name, queueUrl: QueueUrl!, waitTimeSeconds: 1 });
}

/** Another participant of `ch` (its own object, as another Lambda's would be). */
const participant = (ch: Channel<number>) =>
  new Channel<number>({ sqs, dynamodb, tableName, name: ch.name, queueUrl: ch.queueUrl, waitTimeSeconds: 1 });

const conflictsSoFar = async () => (await strictStatus(scratch.config.endpoint))!.counts['transaction-conflict'] ?? 0;

it('16 concurrent senders on one channel: every value counted in once and received once, though their counts conflict', async () => {
  const ch = await channel('senders');
  const before = await conflictsSoFar();
  // Senders of their own (one object's writes of the meta item take turns, and never conflict).
  await Promise.all(
    Array.from({ length: 16 }, async (_, sender) => {
      const own = participant(ch);
      for (let i = 0; i < 10; i++) await own.send(sender * 100 + i);
    }),
  );
  expect(await conflictsSoFar()).toBeGreaterThan(before); // the adversity happened
  expect(await ch.len()).toBe(160);
  await ch.close();
  const got: number[] = [];
  for await (const value of ch.range({ signal: AbortSignal.timeout(60_000) })) got.push(value);
  expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, s) => Array.from({ length: 10 }, (_, i) => s * 100 + i)).flat());
  expect(await ch.status()).toMatchObject({ sent: 160, received: 160, queued: 0, closed: true });
});

it('close() while senders are sending: it goes through, and the closed channel drains exactly what was sent', async () => {
  const ch = await channel('closing');
  let sent = 0;
  let refused = 0;
  const senders = Array.from({ length: 8 }, async (_, sender) => {
    const own = participant(ch); // its own object: its count-ins and the close meet on the item
    for (let i = 0; i < 20; i++) {
      try {
        await own.send(sender * 100 + i);
        sent += 1;
      } catch (err) {
        if (!(err instanceof ChannelClosedError)) throw err;
        refused += 1;
        return;
      }
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await ch.close();
  await Promise.all(senders);
  let received = 0;
  for await (const _ of ch.range({ signal: AbortSignal.timeout(60_000) })) received += 1;
  expect(refused).toBeGreaterThan(0);
  expect(received).toBe(sent);
  expect(await ch.status()).toMatchObject({ sent, received: sent, queued: 0, closed: true });
});

it('a WaitGroup counted down by 100 concurrent done() calls reaches zero, each task counted once', async () => {
  const wg = new WaitGroup({ client: dynamodb, tableName, name: 'fan-in' });
  await wg.add(100);
  const before = await conflictsSoFar();
  const counted = await Promise.all(Array.from({ length: 100 }, (_, task) => wg.done(`task-${task}`)));
  expect(counted.every(Boolean)).toBe(true);
  expect(await wg.count()).toBe(0);
  expect(await conflictsSoFar()).toBeGreaterThan(before);
  // A retried report of a task that was counted changes nothing.
  expect(await wg.done('task-7')).toBe(false);
});

it('CallCounter counts every attempt refused for a conflict, as the strict LocalStack counts them', async () => {
  const counter = new CallCounter();
  const { dynamodb: counted } = countedClients(counter, scratch.config);
  const wg = new WaitGroup({ client: counted, tableName, name: 'counted-fan-in' });
  await wg.add(30);
  const refusals = async () => {
    const counts = (await strictStatus(scratch.config.endpoint))!.counts;
    const count = (kind: string) => counts[kind] ?? 0;
    return {
      conflicts: count('transaction-conflict') + count('transaction-conflict-exception') + count('transaction-in-progress'),
      throttled: count('throttled'),
    };
  };
  const before = await refusals();
  counter.reset();
  await Promise.all(Array.from({ length: 30 }, (_, task) => wg.done(`task-${task}`)));
  const after = await refusals();
  expect(counter.conflicts()).toBeGreaterThan(0); // the adversity happened, and was seen
  expect(counter.conflicts()).toBe(after.conflicts - before.conflicts);
  expect(counter.throttled()).toBe(after.throttled - before.throttled);
  // Every attempt either committed (30) or was refused and counted.
  expect(counter.tally()['DynamoDB.TransactWriteItems']!.attempts).toBe(30 + counter.conflicts() + counter.throttled());
});
