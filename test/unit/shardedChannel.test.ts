import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../lib/channel/envelope.ts';
import { type Shard, ShardedChannel } from '../../lib/channel/ShardedChannel.ts';
import { ChannelClosedError, ChannelSendError, MeshConfigError } from '../../lib/errors.ts';

/** A shard that records what it was sent (routing is what is under test here, not SQS). */
function recordingShard(name: string): Shard<string> & { got: string[] } {
  const got: string[] = [];
  const envelope = (body: string): Envelope<string> => ({ id: body, traceId: 't', parent: null, sentAt: 0, body });
  return {
    name,
    got,
    send: async (value) => (got.push(value), envelope(value)),
    sendMany: async (values) => (got.push(...values), values.map(envelope)),
    close: async () => {},
  };
}

const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

describe('ShardedChannel', () => {
  it('sends every value of a key to the same shard', async () => {
    const shards = ['a', 'b', 'c'].map(recordingShard);
    const sharded = new ShardedChannel({ shards });

    await sharded.sendMany(keys.slice(0, 300).flatMap((key) => [[key, key] as const, [key, key] as const]));

    for (const shard of shards) for (const key of shard.got) expect(sharded.shardOf(key).name).toBe(shard.name);
    expect(shards.map((shard) => shard.got.length).reduce((a, b) => a + b)).toBe(600);
  });

  it("reports a shard's failed values by their index into the entries, once every shard's send has ended", async () => {
    const [a, b, c] = ['a', 'b', 'c'].map(recordingShard);
    // a: the value at its own index 1 not sent; b: closed after its first value; c: all sent.
    a!.sendMany = async () => {
      throw new ChannelSendError('a', [{ id: 'x', index: 1, code: 'OutcomeUnknown', message: 'lost' }]);
    };
    b!.sendMany = async () => {
      throw new ChannelClosedError('b', 'closed midway', [0]);
    };
    const sharded = new ShardedChannel({ shards: [a!, b!, c!] });
    const entries = keys.slice(0, 60).map((key) => [key, key] as const);
    const indexesOn = (name: string) => entries.flatMap(([key], i) => (sharded.shardOf(key).name === name ? [i] : []));

    const error = await sharded.sendMany(entries).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(AggregateError);
    const errors = (error as AggregateError).errors;
    const sendError = errors.find((err) => err instanceof ChannelSendError) as ChannelSendError;
    const closedError = errors.find((err) => err instanceof ChannelClosedError) as ChannelClosedError;
    expect(sendError.failures.map((failure) => failure.index)).toEqual([indexesOn('a')[1]]);
    expect(closedError.sentIndexes).toEqual([indexesOn('b')[0]]);
    expect(c!.got).toEqual(indexesOn('c').map((i) => entries[i]![1]));
  });

  it('moves about 1/(K+1) of the keys when a shard is added, all of them to the new shard', () => {
    const sharded = new ShardedChannel({ shards: ['a', 'b', 'c', 'd'].map(recordingShard) });
    const before = new Map(keys.map((key) => [key, sharded.shardOf(key).name]));

    sharded.addShard(recordingShard('e'));
    const moved = keys.filter((key) => sharded.shardOf(key).name !== before.get(key));

    expect(moved.length / keys.length).toBeGreaterThan(0.2 * 0.75);
    expect(moved.length / keys.length).toBeLessThan(0.2 * 1.25);
    for (const key of moved) expect(sharded.shardOf(key).name).toBe('e');
  });

  it('moves only the removed shard keys when a shard is removed', () => {
    const sharded = new ShardedChannel({ shards: ['a', 'b', 'c'].map(recordingShard) });
    const before = new Map(keys.map((key) => [key, sharded.shardOf(key).name]));

    sharded.removeShard('b');

    for (const key of keys) if (before.get(key) !== 'b') expect(sharded.shardOf(key).name).toBe(before.get(key));
  });

  it('refuses no shards, duplicate shards, unknown and last-shard removal', () => {
    expect(() => new ShardedChannel({ shards: [] })).toThrow(MeshConfigError);
    const sharded = new ShardedChannel({ shards: [recordingShard('a')] });
    expect(() => sharded.addShard(recordingShard('a'))).toThrow(MeshConfigError);
    expect(() => sharded.removeShard('zz')).toThrow(MeshConfigError);
    expect(() => sharded.removeShard('a')).toThrow(MeshConfigError);
  });
});
