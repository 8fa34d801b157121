/**
 * shards: keys spread over K shard channels by a consistent hash ring; shard workers record
 * where each key arrived. Shows: every key on exactly one shard, the one the ring names, and how
 * many keys would move if a shard were added.
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { Channel } from '../../lib/channel/Channel.ts';
import { ShardedChannel } from '../../lib/channel/ShardedChannel.ts';
import { exampleKeys, RUN_SORT_KEY_PREFIX } from '../../lib/table/layout.ts';
import { SHARD_COUNT, shardChannelName } from '../../infra/stack.ts';
import { until, type DemoRun } from './run.ts';

export interface ShardsOptions {
  shards: number;
  keys: number;
}

const message = z.object({ runId: z.string(), key: z.string() });

async function arrivals(run: DemoRun): Promise<Map<string, string[]>> {
  const seen = new Map<string, string[]>();
  let start: Record<string, any> | undefined;
  do {
    const page = await run.ctx.dynamodb.send(
      new QueryCommand({
        TableName: run.ctx.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :key)',
        ExpressionAttributeValues: { ':pk': { S: exampleKeys.run(run.runId) }, ':key': { S: RUN_SORT_KEY_PREFIX.keyArrival } },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) seen.set(item.key!.S!, item.shards?.SS ?? []);
    start = page.LastEvaluatedKey;
  } while (start);
  return seen;
}

export async function shards(run: DemoRun, { shards: count, keys }: ShardsOptions) {
  const { ctx, out, runId, trace, traceId } = run;
  if (!(count >= 1 && count <= SHARD_COUNT))
    throw new Error(`--shards must be 1 to ${SHARD_COUNT} (the stack has ${SHARD_COUNT} shard queues)`);
  const channels = await Promise.all(
    Array.from(
      { length: count },
      async (_, index) =>
        new Channel({
          sqs: ctx.sqs,
          dynamodb: ctx.dynamodb,
          tableName: ctx.tableName,
          name: shardChannelName(index),
          queueUrl: await ctx.queueUrl(shardChannelName(index)),
          schema: message,
        }),
    ),
  );
  const sharded = new ShardedChannel<z.infer<typeof message>, Channel<z.infer<typeof message>>>({ shards: channels });
  const names = Array.from({ length: keys }, (_, index) => `customer-${index}`);
  const startedAt = Date.now();
  await ctx.tracer.span({ traceId, parent: trace.parent ?? null, kind: 'channel', name: `send ${keys} keys over ${count} shards` }, () =>
    sharded.sendMany(
      names.map((key) => [key, { runId, key }] as const),
      { trace },
    ),
  );

  const seen = await until(
    async () => {
      const current = await arrivals(run);
      out.progress('keys arrived', current.size, keys, startedAt);
      return current.size >= keys ? current : undefined;
    },
    'every key to reach its shard worker',
    120_000,
  );

  const assignment: Record<string, string> = {};
  const misplaced: string[] = [];
  for (const key of names) {
    const arrivedOn = seen.get(key) ?? [];
    assignment[key] = arrivedOn.join(',');
    if (arrivedOn.length !== 1 || arrivedOn[0] !== sharded.shardOf(key).name) misplaced.push(key);
  }
  // What adding a shard would do: the same ring with one more node.
  const grown = new ShardedChannel({
    shards: [...channels.map((channel) => ({ ...stub, name: channel.name })), { ...stub, name: shardChannelName(count) }],
  });
  const movedOnAdd = names.filter((key) => grown.shardOf(key).name !== sharded.shardOf(key).name).length;
  const perShard = Object.fromEntries(
    channels.map((channel) => [channel.name, names.filter((key) => assignment[key] === channel.name).length]),
  );
  out.table(['shard', 'keys'], Object.entries(perShard));
  out.say(
    `${misplaced.length} key(s) on the wrong or several shards; adding shard-${count} would move ${movedOnAdd} of ${keys} keys (${((100 * movedOnAdd) / keys).toFixed(1)}%)`,
  );
  return { shards: count, keys, assignment, perShard, misplaced, movedOnAdd };
}

/** A shard that is never sent to: only its name matters for "what if we added one". */
const stub = {
  send: async () => Promise.reject(new Error('not sent')),
  sendMany: async () => Promise.reject(new Error('not sent')),
  close: async () => {},
};
