/**
 * ShardedChannel: one logical channel over K channels (queues), a value routed by its key through
 * a consistent hash ring — the seed's "consistent hashing for data sharding". The same key always
 * reaches the same shard (so one consumer sees all of a key's values, in order on FIFO queues),
 * and adding a shard moves only about 1/(K+1) of the keys.
 */
import { ChannelClosedError, ChannelSendError, MeshConfigError } from '../errors.ts';
import { HashRing } from '../ring/HashRing.ts';
import type { SendOptions } from './types.ts';
import type { Envelope } from './envelope.ts';

/** What a shard must do (a `Channel<T>` does). */
export interface Shard<T> {
  readonly name: string;
  send(value: T, options?: SendOptions): Promise<Envelope<T>>;
  sendMany(values: readonly T[], options?: SendOptions): Promise<Envelope<T>[]>;
  close(options?: { signal?: AbortSignal }): Promise<void>;
}

export interface ShardedChannelOptions<S> {
  /** The shards; each channel's name is its node on the ring. */
  shards: readonly S[];
  /** Virtual nodes per shard. @default 160 */
  virtualNodes?: number;
}

export class ShardedChannel<T, S extends Shard<T> = Shard<T>> {
  private readonly ring: HashRing;
  private readonly byName = new Map<string, S>();

  constructor(options: ShardedChannelOptions<S>) {
    if (!options?.shards?.length) throw new MeshConfigError('ShardedChannel needs at least one shard');
    this.ring = new HashRing(options.virtualNodes === undefined ? {} : { virtualNodes: options.virtualNodes });
    for (const shard of options.shards) this.addShard(shard);
  }

  /** The shards, in the order they were added. */
  get shards(): S[] {
    return [...this.byName.values()];
  }

  /** The shard a key belongs to. Cost: no calls (a ring lookup). */
  shardOf(key: string): S {
    return this.byName.get(this.ring.get(key))!;
  }

  /** Adds a shard: about 1/(K+1) of the keys move to it, and only to it. */
  addShard(shard: S): void {
    if (this.byName.has(shard.name)) throw new MeshConfigError(`shard ${shard.name} is already in the ring`);
    this.byName.set(shard.name, shard);
    this.ring.add(shard.name);
  }

  /** Removes a shard: only its keys move. (Values already in it stay there: drain it yourself.) */
  removeShard(name: string): S {
    const shard = this.byName.get(name);
    if (!shard) throw new MeshConfigError(`no shard named ${name}`);
    if (this.byName.size === 1) throw new MeshConfigError('cannot remove the last shard');
    this.ring.remove(name);
    this.byName.delete(name);
    return shard;
  }

  /** Sends `value` to the shard of `key`. Cost: that of the shard's `send`. */
  send(key: string, value: T, options: SendOptions = {}): Promise<Envelope<T>> {
    return this.shardOf(key).send(value, options);
  }

  /**
   * Sends many keyed values, batched per shard, the shards side by side. Cost: that of each
   * shard's `sendMany`.
   * @returns the envelopes in the order of `entries`
   * @throws a shard's error once every shard's send has ended, its indexes (`ChannelSendError`'s
   *   `failures`, `ChannelClosedError`'s `sentIndexes`) into `entries`; several shards' errors
   *   together as an AggregateError. The other shards' values went.
   */
  async sendMany(entries: Iterable<readonly [key: string, value: T]>, options: SendOptions = {}): Promise<Envelope<T>[]> {
    const lanes = new Map<S, { values: T[]; indexes: number[] }>();
    let count = 0;
    for (const [key, value] of entries) {
      const shard = this.shardOf(key);
      let lane = lanes.get(shard);
      if (!lane) lanes.set(shard, (lane = { values: [], indexes: [] }));
      lane.values.push(value);
      lane.indexes.push(count++);
    }
    const sending = [...lanes];
    const settled = await Promise.allSettled(sending.map(([shard, lane]) => shard.sendMany(lane.values, options)));
    const errors = settled.flatMap((result, i) =>
      result.status === 'rejected' ? [inEntryIndexes(result.reason, sending[i]![1].indexes)] : [],
    );
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `sendMany: ${errors.length} of ${sending.length} shards failed`);
    const envelopes = new Array<Envelope<T>>(count);
    settled.forEach((result, i) => {
      const { indexes } = sending[i]![1];
      (result as PromiseFulfilledResult<Envelope<T>[]>).value.forEach((envelope, k) => (envelopes[indexes[k]!] = envelope));
    });
    return envelopes;
  }

  /** Closes every shard. */
  async close(options: { signal?: AbortSignal } = {}): Promise<void> {
    await Promise.all(this.shards.map((shard) => shard.close(options)));
  }
}

/** A shard's `sendMany` error with its indexes (into the shard's values) turned into indexes into the entries. */
function inEntryIndexes(error: unknown, indexes: readonly number[]): unknown {
  if (error instanceof ChannelSendError)
    return new ChannelSendError(
      error.channelName,
      error.failures.map((failure) => ({ ...failure, index: indexes[failure.index]! })),
      { cause: error.cause },
    );
  if (error instanceof ChannelClosedError)
    return new ChannelClosedError(
      error.channelName,
      error.message,
      error.sentIndexes.map((index) => indexes[index]!),
    );
  return error;
}
