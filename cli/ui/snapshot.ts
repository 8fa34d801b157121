/**
 * One read of the mesh table for everything `fnmesh ui` shows: a single (parallel) Scan that
 * keeps the items the status is made of (channels, locks, groups, wait groups, once keys) and the
 * trace hops the runs list is summed from, each projected to the attributes its reader uses. The
 * status and the runs list of one tick come from the same snapshot, so a tick costs one Scan of
 * the table, not two (docs/UI.md, "Scale").
 *
 * {@link MeshSnapshots} shares a snapshot: a read asked for while one runs joins it, and one asked
 * for within `maxAgeMs` of the last one's end gets that one.
 */
import { type DynamoDBClient, ScanCommand, type ScanCommandInput } from '@aws-sdk/client-dynamodb';
import { abortable, callOptions } from '../../lib/internal/time.ts';
import type { Item } from '../../lib/table/layout.ts';
import { type MeshItemKind, type MeshItems, meshItemsFilter, meshItemsOf } from '../../lib/table/reader.ts';

/** The kinds of record the UI shows. */
export const UI_KINDS: readonly MeshItemKind[] = ['channel', 'mutex', 'rwMutex', 'semaphore', 'group', 'waitGroup', 'once'];

const TRACE_PREFIX = 'trace#';

/**
 * Every attribute the readers of {@link UI_KINDS} (lib/table/reader.ts, lib/sync/holders.ts,
 * lib/spawn/shards.ts) and the runs list (traces.ts) read; nothing else is transferred (a hop's
 * `detail`, a message's body). A test compares the status read through this projection with the
 * one `fnmesh status` reads whole.
 */
export const SNAPSHOT_ATTRIBUTES = [
  'pk',
  'sk',
  'v',
  // channel meta
  'queued',
  'sent',
  'received',
  'abandoned',
  'closedAt',
  // Mutex, Once
  'owner',
  'leaseUntil',
  'fence',
  'state',
  // RWMutex
  'readers',
  'writer',
  'writerUntil',
  'writerWaiting',
  'writerWaitingUntil',
  // Semaphore
  'capacity',
  'used',
  'holders',
  'waiter',
  'waiterWeight',
  'waiterUntil',
  'version',
  // Group, WaitGroup (every shard)
  'started',
  'pending',
  'succeeded',
  'failed',
  'firstError',
  'count',
  'lost',
  'firstLost',
  'shards',
  // trace hops
  'kind',
  'name',
  'startedAt',
  'endedAt',
  'outcome',
] as const;

/** One read of the table. */
export interface MeshSnapshot {
  /** This process's clock when the Scan started (epoch ms): leases left are computed against it. */
  readAt: number;
  /** The records of {@link UI_KINDS}. */
  items: MeshItems;
  /** Trace hop items (projected: pk, sk, kind, name, startedAt, endedAt, outcome; or whole), in no order. */
  hops: Item[];
  /** Scan calls it took (pages, over all segments). */
  pages: number;
}

export interface SnapshotScanOptions {
  /**
   * Read only {@link SNAPSHOT_ATTRIBUTES} of each item (a `ProjectionExpression`): less to
   * transfer on AWS (a hop's `detail`, a group's errors), the same capacity. LocalStack's DynamoDB
   * (moto) re-serializes the whole item for every projected attribute, which makes the Scan about
   * 2.5× slower there (10,000 items: 14.7 s against 6.3 s), so the UI projects on AWS only.
   * @default true
   */
  projection?: boolean;
  /**
   * Scan segments read in parallel (DynamoDB's `Segment`/`TotalSegments`); each is paged by 1 MB.
   * On AWS a large table is read about this many times faster; LocalStack walks the whole table
   * for every segment's page, so there more segments cost more. @default 1
   */
  segments?: number;
  signal?: AbortSignal;
}

/** The Scan's parameters, without `Segment` and `ExclusiveStartKey`. */
export function snapshotScanInput(tableName: string, options: { projection?: boolean } = {}): ScanCommandInput {
  const filter = meshItemsFilter(UI_KINDS);
  const names: Record<string, string> = { ...filter.ExpressionAttributeNames };
  const projected = SNAPSHOT_ATTRIBUTES.map((attribute, index) => {
    const alias = attribute === 'pk' ? '#pk' : attribute === 'sk' ? '#sk' : `#a${index}`;
    if (options.projection !== false) names[alias] = attribute;
    return alias;
  });
  return {
    TableName: tableName,
    // Consistent, as `fnmesh status` reads: its counts are exact.
    ConsistentRead: true,
    FilterExpression: `${filter.FilterExpression} OR begins_with(#pk, :trace)`,
    ...(options.projection !== false ? { ProjectionExpression: projected.join(', ') } : {}),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: { ...filter.ExpressionAttributeValues, ':trace': { S: TRACE_PREFIX } },
  };
}

/**
 * Reads a snapshot: one paginated Scan of the whole table (in `segments` parallel segments).
 *
 * Cost: consistent, 1 RCU per 4 KB of every item in the table (whatever the filter keeps), one
 * Scan call per 1 MB page of each segment.
 * @throws ItemFormatError if an item was written by a newer format version
 */
export async function readSnapshot(client: DynamoDBClient, tableName: string, options: SnapshotScanOptions = {}): Promise<MeshSnapshot> {
  const { segments = 1, signal, projection = true } = options;
  if (!Number.isSafeInteger(segments) || segments < 1 || segments > 1_000_000)
    throw new RangeError(`segments must be an integer from 1 to 1000000, got ${segments}`);
  const readAt = Date.now();
  const input = snapshotScanInput(tableName, { projection });
  let pages = 0;
  const scanSegment = async (segment: number): Promise<Item[]> => {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await abortable(signal, () =>
        client.send(
          new ScanCommand({
            ...input,
            ...(segments > 1 ? { Segment: segment, TotalSegments: segments } : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
          callOptions(signal),
        ),
      );
      pages++;
      for (const item of page.Items ?? []) items.push(item);
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };
  const all = (await Promise.all(Array.from({ length: segments }, (_, segment) => scanSegment(segment)))).flat();
  const hops = all.filter((item) => item.pk?.S?.startsWith(TRACE_PREFIX));
  return { readAt, items: meshItemsOf(all, UI_KINDS), hops, pages };
}

/**
 * Snapshots shared between the views: one Scan per tick serves the status and the runs list, and
 * concurrent requests (tabs, reloads) share the running one.
 */
export class MeshSnapshots {
  private running: Promise<MeshSnapshot> | undefined;
  private last: { snapshot: MeshSnapshot; endedAt: number } | undefined;
  private readonly closing = new AbortController();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: {
      /** A snapshot that ended less than this long ago is served as it is (unless `fresh` is asked). @default 2000 */
      maxAgeMs?: number;
      segments?: number;
      projection?: boolean;
    } = {},
  ) {}

  /**
   * A snapshot at most `maxAgeMs` old (by its end), or the one being read, or a new one.
   * `fresh`: never an old one (a running one is still joined: it started after the call's reason).
   */
  read(options: { fresh?: boolean } = {}): Promise<MeshSnapshot> {
    if (this.running) return this.running;
    const last = this.last;
    if (!options.fresh && last && Date.now() - last.endedAt < (this.options.maxAgeMs ?? 2000)) return Promise.resolve(last.snapshot);
    // Shared by every caller: not aborted by one of them leaving, only by close().
    const { segments, projection } = this.options;
    const started = readSnapshot(this.client, this.tableName, {
      signal: this.closing.signal,
      ...(segments !== undefined ? { segments } : {}),
      ...(projection !== undefined ? { projection } : {}),
    });
    this.running = started;
    started.then(
      (snapshot) => {
        this.last = { snapshot, endedAt: Date.now() };
        this.running = undefined;
      },
      () => {
        this.running = undefined;
      },
    );
    return started;
  }

  /** Aborts the read running (its SDK calls too) and every later one. */
  close(): void {
    this.closing.abort();
  }
}
