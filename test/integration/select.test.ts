/** select over Channels: first ready case, timeout, default, closed cases, and no lost messages. */
import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../lib/channel/Channel.ts';
import { recv, select } from '../../lib/channel/select.ts';
import {
  createMeshTable,
  createQueue,
  deleteMeshTable,
  dynamodb,
  sqs,
  type TestQueue,
  uniqueSuffix,
} from '../../infra/localstack/resources.ts';

let tableName: string;
const queues: TestQueue[] = [];

beforeAll(async () => {
  tableName = await createMeshTable('select');
});

afterAll(async () => {
  await Promise.all([deleteMeshTable(tableName), ...queues.map((queue) => queue.remove())]);
});

async function channel<T>(): Promise<Channel<T>> {
  // A long visibility timeout: a message stuck in flight would show as a 30 s stall; and a low
  // maxReceiveCount: a message received and handed back by a losing case would soon be dead-lettered.
  const queue = await createQueue('select', { visibilityTimeout: 30, maxReceiveCount: 2 });
  queues.push(queue);
  return new Channel<T>({ sqs, dynamodb, tableName, name: `sel-${uniqueSuffix()}`, queueUrl: queue.queueUrl, waitTimeSeconds: 1 });
}

describe('select', () => {
  it('returns the first case that has a value, with its index', async () => {
    const [numbers, words] = await Promise.all([channel<number>(), channel<string>()]);
    await words.send('ready');

    const result = await select([recv(numbers), recv(words)], { timeoutMs: 10_000 });

    expect(result).toMatchObject({ kind: 'receive', index: 1, ok: true, value: 'ready' });
  });

  it('times out when no case is ready', async () => {
    const [a, b] = await Promise.all([channel<number>(), channel<number>()]);
    const startedAt = Date.now();

    const result = await select([recv(a), recv(b)], { timeoutMs: 800 });

    expect(result).toEqual({ kind: 'timeout', index: -1 });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(800);
  });

  it('keeps to its timeout when the ready cases are empty (their values in flight with other receivers)', async () => {
    const cases = await Promise.all([channel<number>(), channel<number>(), channel<number>()]);
    for (const [i, ch] of cases.entries()) {
      await ch.send(i);
      // Another receiver has the value in flight: counted, so the case looks ready, but not visible.
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: ch.queueUrl, VisibilityTimeout: 30, WaitTimeSeconds: 1 }),
      );
      expect(Messages).toHaveLength(1);
    }
    const startedAt = Date.now();

    const result = await select(cases.map(recv), { timeoutMs: 300 });

    expect(result).toEqual({ kind: 'timeout', index: -1 });
    // One long poll per ready case took it to 3 s; now no poll waits past the deadline.
    expect(Date.now() - startedAt).toBeLessThan(2000);
  });

  it('takes the default case at once when nothing is ready', async () => {
    const a = await channel<number>();

    const result = await select([recv(a)], { default: true });

    expect(result).toEqual({ kind: 'default', index: -1 });
  });

  it('treats a closed, drained channel as ready, with ok: false', async () => {
    const [open, closed] = await Promise.all([channel<number>(), channel<number>()]);
    await closed.close();

    const result = await select([recv(open), recv(closed)], { timeoutMs: 10_000 });

    expect(result).toMatchObject({ kind: 'receive', index: 1, ok: false });
  });

  it('never loses, delays or dead-letters a value: 40 values over 2 channels, each selected once', async () => {
    const [a, b] = await Promise.all([channel<number>(), channel<number>()]);
    await Promise.all([a.sendMany(Array.from({ length: 20 }, (_, i) => i)), b.sendMany(Array.from({ length: 20 }, (_, i) => 100 + i))]);
    const startedAt = Date.now();
    const got: number[] = [];

    while (got.length < 40) {
      const result = await select([recv(a), recv(b)], { timeoutMs: 20_000 });
      if (result.kind !== 'receive' || !result.ok) throw new Error(`unexpected ${JSON.stringify(result)}`);
      got.push(result.value);
    }

    expect([...got].sort((x, y) => x - y)).toEqual([
      ...Array.from({ length: 20 }, (_, i) => i),
      ...Array.from({ length: 20 }, (_, i) => 100 + i),
    ]);
    expect(Date.now() - startedAt).toBeLessThan(25_000); // nothing waited out a 30 s visibility timeout
    expect([await a.len(), await b.len()]).toEqual([0, 0]);
    for (const queue of queues.slice(-2)) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queue.deadLetterQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      expect(Attributes?.ApproximateNumberOfMessages).toBe('0');
    }
  });
});
