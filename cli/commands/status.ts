/**
 * `fnmesh status`: the mesh at a glance — every channel with its counts and dead-letter depth,
 * every mutex with its holder, every errgroup with its counts — read from the mesh table's items
 * (docs/item-format.md) and the dead-letter queues' attributes.
 */
import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { TaskFailure } from '../../lib/errors.ts';
import { SHARD_COUNT, shardChannelName } from '../../functions/shard/shards.ts';
import { earliestFailure } from '../../lib/spawn/shards.ts';
import { checkVersion, type Item, readNumber, readString } from '../../lib/table/layout.ts';
import { type StrictStatus, strictStatus } from '../../infra/localstack/localstack.ts';
import type { MeshContext } from '../context.ts';
import type { Output } from '../output.ts';
import { channelQueues, STACK_CHANNELS } from './dlq.ts';

/** The channels status always shows, in this order, even before their meta items exist. */
const STATUS_CHANNELS: readonly string[] = [
  'ping',
  'tasks',
  'results',
  ...Array.from({ length: SHARD_COUNT }, (_, i) => shardChannelName(i)),
];

export interface ChannelRow {
  name: string;
  /** Sent and not yet received (Go's `len(ch)`), exact: from the channel's meta item. */
  queued: number;
  sent: number;
  received: number;
  /** Counted out unsent: their senders could not tell whether SQS took them (docs/wire-format.md). */
  abandoned: number;
  closed: boolean;
  /**
   * Messages in the channel's dead-letter queue (SQS's approximate visible + not visible counts);
   * null if the channel has no dead-letter queue of the stack's (or it could not be read). The
   * shards share one dead-letter queue: each shard shows its whole depth.
   */
  dlqDepth: number | null;
}

export interface LockRow {
  name: string;
  /** The holder's token (`<owner>/<uuid>`), or null if the lock is free. */
  holder: string | null;
  /** Grants so far (the last holder's fencing token). */
  fence: number;
  /** How long the holder's lease still runs (0 once it has expired and may be taken over); null if free. */
  leaseLeftMs: number | null;
}

export interface GroupRow {
  id: string;
  started: number;
  pending: number;
  succeeded: number;
  failed: number;
  /** The first task that failed, or null. */
  firstError: TaskFailure | null;
}

export interface StatusDocument {
  channels: ChannelRow[];
  locks: LockRow[];
  groups: GroupRow[];
  /**
   * Stage local only: LocalStack's strict mode (docs/STRICT.md), its settings and how many of each
   * adversity it injected; null on other stages, or if the LocalStack there is not fnmesh's.
   */
  strict: StrictStatus | null;
}

const PREFIX = { channel: 'channel#', mutex: 'mutex#', group: 'group#' } as const;

/**
 * The channel meta, mutex and group items of the mesh table: one paginated, consistent Scan,
 * filtered on the server to those three item kinds (the filter saves transfer, not capacity).
 */
async function scanMesh(dynamodb: DynamoDBClient, tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        FilterExpression:
          '(#sk = :meta AND begins_with(#pk, :channel)) OR (#sk = :lock AND begins_with(#pk, :mutex)) OR (#sk = :group AND begins_with(#pk, :groupPrefix))',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: {
          ':meta': { S: 'meta' },
          ':channel': { S: PREFIX.channel },
          ':lock': { S: 'lock' },
          ':mutex': { S: PREFIX.mutex },
          ':group': { S: 'group' },
          ':groupPrefix': { S: PREFIX.group },
        },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Messages in a queue: SQS's approximate visible + in-flight counts; null if the queue cannot be read. */
async function queueDepth(ctx: MeshContext, queueKey: string): Promise<number | null> {
  try {
    const { Attributes = {} } = await ctx.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: await ctx.queueUrl(queueKey),
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
  } catch {
    return null;
  }
}

function channelRow(name: string, item: Item | undefined, dlqDepth: number | null): ChannelRow {
  return {
    name,
    queued: readNumber(item, 'queued') ?? 0,
    sent: readNumber(item, 'sent') ?? 0,
    received: readNumber(item, 'received') ?? 0,
    abandoned: readNumber(item, 'abandoned') ?? 0,
    closed: item?.closedAt !== undefined,
    dlqDepth,
  };
}

function show(value: number | null | undefined): string | number {
  return value ?? '-';
}

/**
 * Reads the mesh's state: channels (the stack's ping, tasks, results and shard channels, with
 * zeros until first used, plus every other channel that has a meta item), mutexes and errgroups.
 *
 * Cost: one Scan of the whole mesh table (consistent: 1 RCU per 4 KB of every item in it,
 * trace hops and claim markers included, whatever the filter keeps), paged by 1 MB; plus one
 * GetQueueAttributes per dead-letter queue. Fine for a status view; not for a hot path.
 * Counts are exact (the table's) except `dlqDepth`, which is SQS's approximate count.
 * @throws ItemFormatError if an item was written by a newer format version
 */
export async function status(ctx: MeshContext, out: Output): Promise<StatusDocument> {
  const now = Date.now();
  const deadLetterKeys = [...new Set(STACK_CHANNELS.map((channel) => channelQueues(ctx, channel).deadLetterKey))];
  const [items, depths, strict] = await Promise.all([
    scanMesh(ctx.dynamodb, ctx.tableName),
    Promise.all(deadLetterKeys.map(async (key) => [key, await queueDepth(ctx, key)] as const)),
    ctx.stage === 'local' ? strictStatus() : undefined,
  ]);
  const depthOf = new Map(depths);
  const dlqDepth = (channel: string) =>
    STACK_CHANNELS.includes(channel) ? (depthOf.get(channelQueues(ctx, channel).deadLetterKey) ?? null) : null;

  const metas = new Map<string, Item>();
  const locks: LockRow[] = [];
  const groups: GroupRow[] = [];
  for (const item of items) {
    checkVersion(item);
    const pk = item.pk?.S ?? '';
    const sk = item.sk?.S ?? '';
    if (sk === 'meta' && pk.startsWith(PREFIX.channel)) {
      metas.set(pk.slice(PREFIX.channel.length), item);
    } else if (sk === 'lock' && pk.startsWith(PREFIX.mutex)) {
      const holder = readString(item, 'owner') ?? null;
      const leaseUntil = readNumber(item, 'leaseUntil');
      locks.push({
        name: pk.slice(PREFIX.mutex.length),
        holder,
        fence: readNumber(item, 'fence') ?? 0,
        leaseLeftMs: holder !== null && leaseUntil !== undefined ? Math.max(0, leaseUntil - now) : null,
      });
    } else if (sk === 'group' && pk.startsWith(PREFIX.group)) {
      groups.push({
        id: pk.slice(PREFIX.group.length),
        started: readNumber(item, 'started') ?? 0,
        pending: readNumber(item, 'pending') ?? 0,
        succeeded: readNumber(item, 'succeeded') ?? 0,
        failed: readNumber(item, 'failed') ?? 0,
        firstError: earliestFailure([item], 'firstError') ?? null,
      });
    }
  }

  const others = [...metas.keys()].filter((name) => !STATUS_CHANNELS.includes(name)).sort();
  const document: StatusDocument = {
    channels: [...STATUS_CHANNELS, ...others].map((name) => channelRow(name, metas.get(name), dlqDepth(name))),
    locks: locks.sort((a, b) => a.name.localeCompare(b.name)),
    groups: groups.sort((a, b) => a.id.localeCompare(b.id)),
    strict: strict ?? null,
  };

  if (!out.json) {
    out.say('channels');
    out.table(
      ['channel', 'queued', 'sent', 'received', 'abandoned', 'closed', 'dlq'],
      document.channels.map((c) => [c.name, c.queued, c.sent, c.received, c.abandoned, c.closed ? 'closed' : '', show(c.dlqDepth)]),
    );
    out.say('locks');
    out.table(
      ['lock', 'holder', 'fence', 'lease left'],
      document.locks.map((l) => [
        l.name,
        l.holder ?? '(free)',
        l.fence,
        l.leaseLeftMs === null ? '-' : `${(l.leaseLeftMs / 1000).toFixed(1)} s`,
      ]),
    );
    out.say('groups');
    out.table(
      ['group', 'started', 'pending', 'succeeded', 'failed', 'first error'],
      document.groups.map((g) => [
        g.id,
        g.started,
        g.pending,
        g.succeeded,
        g.failed,
        g.firstError ? `${g.firstError.errorType}: ${g.firstError.errorMessage} (${g.firstError.functionName})` : '',
      ]),
    );
    if (document.strict?.enabled) {
      out.say(`strict mode: on (seed ${document.strict.settings.seed}; docs/STRICT.md)`);
      out.table(
        ['adversity', 'injected'],
        Object.entries(document.strict.counts)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([kind, count]) => [kind, count]),
      );
    } else if (document.strict) out.say('strict mode: off');
  }
  out.result(document, () => {
    const held = document.locks.filter((lock) => lock.holder !== null).length;
    const running = document.groups.filter((group) => group.pending > 0).length;
    // Each dead-letter queue once (the shards share one).
    const deadLetters = [...depthOf.values()].reduce<number>((sum, depth) => sum + (depth ?? 0), 0);
    out.say(
      `${document.channels.length} channels (${deadLetters} dead letters in the stack's dead-letter queues), ${document.locks.length} locks (${held} held), ` +
        `${document.groups.length} groups (${running} running)`,
    );
  });
  return document;
}
