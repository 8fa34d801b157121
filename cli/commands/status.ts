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

/** One of several holders of a lock: an RWMutex's reader, a Semaphore's permit holder. */
export interface LockHolderRow {
  holder: string;
  /** How long its lease still runs (0 once it has expired: the entry stays until the next grant clears it). */
  leaseLeftMs: number;
  /** Permits it holds (Semaphore only). */
  weight?: number;
}

export interface LockRow {
  name: string;
  /** Which primitive: a Mutex, an RWMutex or a Semaphore. */
  kind: 'mutex' | 'rwmutex' | 'semaphore';
  /** The (write) holder's token (`<owner>/<uuid>`), or null if no one holds it (exclusively: a Semaphore's is always null). */
  holder: string | null;
  /** Grants so far (the last holder's fencing token); an RWMutex's write grants; 0 for a Semaphore (no fence). */
  fence: number;
  /** How long the (write) holder's lease still runs (0 once it has expired and may be taken over); null if none. */
  leaseLeftMs: number | null;
  /** RWMutex: its read holders (expired entries too, with 0 left). */
  readers?: LockHolderRow[];
  /** RWMutex: a writer waits for the readers to drain (new readers are kept out). */
  writerWaiting?: boolean;
  /** Semaphore: permits held by live holders, of `capacity`; every holder entry. */
  permits?: { held: number; capacity: number; holders: LockHolderRow[] };
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
  strict: Omit<StrictStatus, 'byResource'> | null;
}

/** {@link readStatus}'s answer: the status document, and the dead letters in all of the stack's dead-letter queues. */
export interface StatusReading {
  document: StatusDocument;
  /** Each dead-letter queue counted once (the shards share one); SQS's approximate counts. */
  deadLetters: number;
  /** The mesh table's records as listed (the kinds asked for, and at least channels, locks and groups). */
  items: MeshItems;
  /** The clock the leases left were computed against (epoch ms, this process's clock). */
  readAt: number;
}

/** The kinds of item the status document is made of. */
const STATUS_KINDS: readonly MeshItemKind[] = ['channel', 'mutex', 'rwMutex', 'semaphore', 'group'];

/** Messages in a queue: SQS's approximate visible + in-flight counts; null if the queue cannot be read. */
async function queueDepth(ctx: MeshContext, queueKey: string, signal?: AbortSignal): Promise<number | null> {
  try {
    const { Attributes = {} } = await ctx.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: await ctx.queueUrl(queueKey, signal),
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
      signal ? { abortSignal: signal } : {},
    );
    return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
  } catch {
    return null;
  }
}

const leaseLeft = (leaseUntil: number, now: number) => Math.max(0, leaseUntil - now);

/** Every lock of the listing as a status row: mutexes, RWMutexes and semaphores, sorted by name (then kind). */
export function lockRows(items: Pick<MeshItems, 'mutexes' | 'rwMutexes' | 'semaphores'>, now: number): LockRow[] {
  const rows: LockRow[] = [
    ...items.mutexes.map(({ name, holder, fence, leaseUntil }): LockRow => ({
      name,
      kind: 'mutex',
      holder,
      fence,
      leaseLeftMs: leaseUntil === null ? null : leaseLeft(leaseUntil, now),
    })),
    ...items.rwMutexes.map((record): LockRow => ({
      name: record.name,
      kind: 'rwmutex',
      holder: record.writer,
      fence: record.fence,
      leaseLeftMs: record.writerUntil === null ? null : leaseLeft(record.writerUntil, now),
      readers: record.readers.map(({ holder, leaseUntil }) => ({ holder, leaseLeftMs: leaseLeft(leaseUntil, now) })),
      writerWaiting: record.writerWaiting !== null,
    })),
    ...items.semaphores.map((record): LockRow => {
      const holders = record.holders.map(({ holder, weight, leaseUntil }) => ({ holder, weight, leaseLeftMs: leaseLeft(leaseUntil, now) }));
      return {
        name: record.name,
        kind: 'semaphore',
        holder: null,
        fence: 0,
        leaseLeftMs: null,
        permits: {
          held: holders.reduce((sum, { weight, leaseLeftMs }) => sum + (leaseLeftMs > 0 ? weight : 0), 0),
          capacity: record.capacity,
          holders,
        },
      };
    }),
  ];
  return rows.sort((a, b) => a.name.localeCompare(b.name) || a.kind.localeCompare(b.kind));
}

/** Whether anyone holds a lock now (a writer or holder, a live reader, a live permit). */
function isHeld(lock: LockRow): boolean {
  if (lock.permits) return lock.permits.held > 0;
  return lock.holder !== null || (lock.readers ?? []).some((reader) => reader.leaseLeftMs > 0);
}

/** What the `holder` column of `fnmesh status` says about a lock. */
function holderText(lock: LockRow): string {
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  if (lock.permits) {
    const live = lock.permits.holders.filter((holder) => holder.leaseLeftMs > 0).length;
    return `${lock.permits.held}/${lock.permits.capacity} permits (${plural(live, 'holder')})`;
  }
  if (lock.holder !== null) return lock.holder;
  const readers = lock.readers?.filter((reader) => reader.leaseLeftMs > 0).length ?? 0;
  if (readers > 0) return `${plural(readers, 'reader')}${lock.writerWaiting ? ', a writer waiting' : ''}`;
  return '(free)';
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
  options: {
    signal?: AbortSignal;
    kinds?: readonly MeshItemKind[];
    /**
     * Reads the table's records instead of a Scan of its own (`fnmesh ui` reads them once for
     * several views): they must include the status kinds and `kinds`; `readAt` is the clock the
     * leases left are computed against.
     */
    list?: () => Promise<{ items: MeshItems; readAt: number }>;
  } = {},
): Promise<StatusReading> {
  const { signal, kinds = STATUS_KINDS } = options;
  const deadLetterKeys = [...new Set(STACK_CHANNELS.map((channel) => channelQueues(ctx, channel).deadLetterKey))];
  const list =
    options.list ??
    (async () => {
      const readAt = Date.now();
      const items = await listMeshItems(ctx.dynamodb, ctx.tableName, {
        kinds: [...new Set([...STATUS_KINDS, ...kinds])],
        ...(signal ? { signal } : {}),
      });
      return { items, readAt };
    });
  const [{ items, readAt: now }, depths, strict] = await Promise.all([
    list(),
    Promise.all(deadLetterKeys.map(async (key) => [key, await queueDepth(ctx, key, signal)] as const)),
    ctx.stage === 'local' ? strictStatus(undefined, signal) : undefined,
  ]);
  const depthOf = new Map(depths);
  const dlqDepth = (channel: string) =>
    STACK_CHANNELS.includes(channel) ? (depthOf.get(channelQueues(ctx, channel).deadLetterKey) ?? null) : null;

  const metas = new Map(items.channels.map((record) => [record.name, record]));
  const others = [...metas.keys()].filter((name) => !STATUS_CHANNELS.includes(name)).sort();
  const document: StatusDocument = {
    channels: [...STATUS_CHANNELS, ...others].map((name) => channelRow(metas.get(name) ?? channelRecord(name, undefined), dlqDepth(name))),
    locks: lockRows(items, now),
    groups: items.groups,
    // Its settings and totals; the per-queue split (`byResource`) grows with every queue ever used.
    strict: strict ? { enabled: strict.enabled, settings: strict.settings, counts: strict.counts } : null,
  };
  // Each dead-letter queue once (the shards share one).
  const deadLetters = [...depthOf.values()].reduce<number>((sum, depth) => sum + (depth ?? 0), 0);
  return { document, deadLetters, items, readAt: now };
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
      ['lock', 'kind', 'holder', 'fence', 'lease left'],
      document.locks.map((l) => [
        l.name,
        l.kind,
        holderText(l),
        l.kind === 'semaphore' ? '-' : l.fence,
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
    const held = document.locks.filter(isHeld).length;
    const running = document.groups.filter((group) => group.pending > 0).length;
    out.say(
      `${document.channels.length} channels (${deadLetters} dead letters in the stack's dead-letter queues), ${document.locks.length} locks (${held} held), ` +
        `${document.groups.length} groups (${running} running)`,
    );
  });
  return document;
}
