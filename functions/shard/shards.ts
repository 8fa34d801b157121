/**
 * The shard channels: `shard-0` … `shard-3`, one queue each (serverless.yml). A shard's channel
 * name is its node on the ring, so the driver and the workers agree on it.
 */
export const SHARD_COUNT = 4;

export const shardChannelName = (index: number) => `shard-${index}`;

/** `shard-<i>` from a shard queue's ARN (`…:fnmesh-<stage>-shard-<i>`). */
export function shardName(queueArn: string): string {
  const match = /shard-(\d+)$/.exec(queueArn);
  if (!match) throw new Error(`not a shard queue: ${queueArn}`);
  return shardChannelName(Number(match[1]));
}
