/**
 * The example stack's names, in one place for its functions (functions/) and the fnmesh CLI
 * (cli/): its channels and their queues, its functions, and how serverless.yml names a stage's
 * resources (`fnmesh-<stage>-<thing>`). serverless.yml and infra/resources/*.yml spell the same
 * names in YAML: change both together.
 */

/** The service name (serverless.yml's `service`). */
export const SERVICE = 'fnmesh';

/** A stage's resource name: `fnmesh-<stage>-<thing>` (a function, a queue, the table). */
export function resourceName(stage: string, thing: string): string {
  return `${SERVICE}-${stage}-${thing}`;
}

/** The mesh table's short name: the table is `fnmesh-<stage>-mesh`. */
export const MESH_TABLE = 'mesh';

/** The functions (serverless.yml's `functions` keys): each is `fnmesh-<stage>-<name>`. */
export const FUNCTIONS = {
  ping: 'ping',
  record: 'record',
  hello: 'hello',
  channel: 'channel',
  quoter: 'quoter',
  counter: 'counter',
  square: 'square',
  taskFailures: 'taskfailures',
  worker: 'worker',
  shard: 'shard',
} as const;

/** The channels with a queue of their own (infra/resources/queues.yml, smoke-queues.yml), but the shards. */
export const CHANNELS = { ping: 'ping', tasks: 'tasks', results: 'results', smoke: 'smoke' } as const;

/**
 * The shard channels: `shard-0` … `shard-3`, one queue each. A shard's channel name is its node
 * on the ring, so the driver and the workers agree on it.
 */
export const SHARD_COUNT = 4;

export const shardChannelName = (index: number) => `shard-${index}`;

/** `shard-<i>` from a shard queue's ARN (`…:fnmesh-<stage>-shard-<i>`). */
export function shardName(queueArn: string): string {
  const match = /shard-(\d+)$/.exec(queueArn);
  if (!match) throw new Error(`not a shard queue: ${queueArn}`);
  return shardChannelName(Number(match[1]));
}

/** Every channel of the stack with a queue of its own, shards included. */
export const STACK_CHANNELS: readonly string[] = [
  CHANNELS.ping,
  CHANNELS.tasks,
  CHANNELS.results,
  CHANNELS.smoke,
  ...Array.from({ length: SHARD_COUNT }, (_, i) => shardChannelName(i)),
];

/** The shard channels' shared dead-letter queue's short name. */
export const SHARDS_DEAD_LETTER_QUEUE = 'shards-dlq';

/**
 * A channel's queue and dead-letter queue, as short names (`resourceName` makes them full): the
 * queue is the channel's name, its dead-letter queue `<name>-dlq`, except the shards', which share
 * `shards-dlq`. Only meaningful for STACK_CHANNELS.
 */
export function channelQueueNames(channel: string): { queue: string; deadLetterQueue: string; sharedDeadLetterQueue: boolean } {
  const shared = channel.startsWith('shard-');
  return { queue: channel, deadLetterQueue: shared ? SHARDS_DEAD_LETTER_QUEUE : `${channel}-dlq`, sharedDeadLetterQueue: shared };
}
