/**
 * `fnmesh status`: the mesh at a glance — every channel with its counts and dead-letter depth,
 * every mutex with its holder, every errgroup with its counts — read from the mesh table's items
 * (lib/table/reader.ts) and the dead-letter queues' attributes.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { CHANNELS, SHARD_COUNT, shardChannelName, STACK_CHANNELS } from '../../infra/stack.ts';
import {
  type ChannelRecord,
  channelRecord,
  type GroupRecord,
  listMeshItems,
  type MeshItemKind,
  type MeshItems,
} from '../../lib/table/reader.ts';
import { type StrictStatus, strictStatus } from '../../infra/localstack/localstack.ts';
import type { MeshContext } from '../context.ts';
import type { Output } from '../output.ts';
import { channelQueues } from './dlq.ts';

/** The channels status always shows, in this order, even before their meta items exist. */
const STATUS_CHANNELS: readonly string[] = [
  CHANNELS.ping,
  CHANNELS.tasks,
  CHANNELS.results,
  ...Array.from({ length: SHARD_COUNT }, (_, i) => shardChannelName(i)),
];

/** A channel's counts (exact: from its meta item), and its dead-letter queue's depth. */
export interface ChannelRow extends ChannelRecord {
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

export type GroupRow = GroupRecord;

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

/** {@link readStatus}'s answer: the status document, and the dead letters in all of the stack's dead-letter queues. */
export interface StatusReading {
  document: StatusDocument;
  /** Each dead-letter queue counted once (the shards share one); SQS's approximate counts. */
  deadLetters: number;
  /** The mesh table's records as listed (the kinds asked for, and at least channels, mutexes and groups). */
  items: MeshItems;
}

/** The kinds of item the status document is made of. */
const STATUS_KINDS: readonly MeshItemKind[] = ['channel', 'mutex', 'group'];

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

function channelRow(record: ChannelRecord, dlqDepth: number | null): ChannelRow {
  return { ...record, dlqDepth };
}

function show(value: number | null | undefined): string | number {
  return value ?? '-';
}

/**
 * Reads the mesh's state: channels (the stack's ping, tasks, results and shard channels, with
 * zeros until first used, plus every other channel that has a meta item), mutexes and errgroups.
 *
 * `kinds` adds other kinds of record to `items` (wait groups, once keys) at no extra cost.
 *
 * Cost: one Scan of the whole mesh table (consistent: 1 RCU per 4 KB of every item in it,
 * trace hops and claim markers included, whatever the filter keeps), paged by 1 MB; plus one
 * GetQueueAttributes per dead-letter queue. Fine for a status view; not for a hot path.
 * Counts are exact (the table's) except `dlqDepth`, which is SQS's approximate count.
 * @throws ItemFormatError if an item was written by a newer format version
 */
export async function readStatus(
  ctx: MeshContext,
  options: { signal?: AbortSignal; kinds?: readonly MeshItemKind[] } = {},
): Promise<StatusReading> {
  const { signal, kinds = STATUS_KINDS } = options;
  const now = Date.now();
  const deadLetterKeys = [...new Set(STACK_CHANNELS.map((channel) => channelQueues(ctx, channel).deadLetterKey))];
  const [items, depths, strict] = await Promise.all([
    listMeshItems(ctx.dynamodb, ctx.tableName, { kinds: [...new Set([...STATUS_KINDS, ...kinds])], ...(signal ? { signal } : {}) }),
    Promise.all(deadLetterKeys.map(async (key) => [key, await queueDepth(ctx, key)] as const)),
    ctx.stage === 'local' ? strictStatus() : undefined,
  ]);
  const depthOf = new Map(depths);
  const dlqDepth = (channel: string) =>
    STACK_CHANNELS.includes(channel) ? (depthOf.get(channelQueues(ctx, channel).deadLetterKey) ?? null) : null;

  const metas = new Map(items.channels.map((record) => [record.name, record]));
  const others = [...metas.keys()].filter((name) => !STATUS_CHANNELS.includes(name)).sort();
  const document: StatusDocument = {
    channels: [...STATUS_CHANNELS, ...others].map((name) => channelRow(metas.get(name) ?? channelRecord(name, undefined), dlqDepth(name))),
    locks: items.mutexes.map(({ name, holder, fence, leaseUntil }) => ({
      name,
      holder,
      fence,
      leaseLeftMs: leaseUntil === null ? null : Math.max(0, leaseUntil - now),
    })),
    groups: items.groups,
    strict: strict ?? null,
  };
  // Each dead-letter queue once (the shards share one).
  const deadLetters = [...depthOf.values()].reduce<number>((sum, depth) => sum + (depth ?? 0), 0);
  return { document, deadLetters, items };
}

/**
 * `fnmesh status`: {@link readStatus}, printed as tables (or one JSON document with `--json`).
 * @throws ItemFormatError if an item was written by a newer format version
 */
export async function status(ctx: MeshContext, out: Output): Promise<StatusDocument> {
  const { document, deadLetters } = await readStatus(ctx);
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
    out.say(
      `${document.channels.length} channels (${deadLetters} dead letters in the stack's dead-letter queues), ${document.locks.length} locks (${held} held), ` +
        `${document.groups.length} groups (${running} running)`,
    );
  });
  return document;
}
