/** ShardedChannel over real channels: every key's values land on, and are received from, one shard. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../lib/channel/Channel.ts';
import { ShardedChannel } from '../../lib/channel/ShardedChannel.ts';
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
  tableName = await createMeshTable('shards');
});

afterAll(async () => {
  await Promise.all([deleteMeshTable(tableName), ...queues.map((queue) => queue.remove())]);
});

describe('ShardedChannel', () => {
  it('delivers all values of a key through the one shard the ring picks', async () => {
    const run = uniqueSuffix();
    const shards = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const queue = await createQueue(`shard${i}`);
        queues.push(queue);
        return new Channel<{ key: string; seq: number }>({
          sqs,
          dynamodb,
          tableName,
          name: `orders-${run}-${i}`,
          queueUrl: queue.queueUrl,
          waitTimeSeconds: 1,
        });
      }),
    );
    const orders = new ShardedChannel<{ key: string; seq: number }, Channel<{ key: string; seq: number }>>({ shards });
    const entries = Array.from({ length: 12 }, (_, k) => `customer-${k}`).flatMap((key) =>
      [0, 1].map((seq) => [key, { key, seq }] as const),
    );

    const envelopes = await orders.sendMany(entries);
    // In the order of the entries (not grouped by shard), as Channel.sendMany returns them.
    expect(envelopes.map((envelope) => envelope.body)).toEqual(entries.map(([, value]) => value));
    await orders.close();
    const receivedBy = new Map<string, Set<string>>();
    await Promise.all(
      shards.map(async (shard) => {
        for await (const { key } of shard.range({ signal: AbortSignal.timeout(30_000) })) {
          receivedBy.set(key, (receivedBy.get(key) ?? new Set()).add(shard.name));
        }
      }),
    );

    expect(receivedBy.size).toBe(12);
    for (const [key, shardNames] of receivedBy) expect([...shardNames]).toEqual([orders.shardOf(key).name]);
    expect(new Set([...receivedBy.values()].map((names) => [...names][0])).size).toBeGreaterThan(1); // spread over shards
  });
});
