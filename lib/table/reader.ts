/**
 * The mesh table read as typed records, for tools that look at every primitive at once (`fnmesh
 * status`): one Scan lists the main items of the kinds asked for (channel meta items, mutexes,
 * RWMutexes, semaphores, groups, wait groups, once keys) and reads each into a record.
 * {@link meshItemsFilter} and {@link meshItemsOf} are the two halves, for a caller that scans the
 * table itself (`fnmesh ui` reads runs from the same Scan). The primitives read their own
 * items; this is the read-only view from outside. Keys come from layout.ts, attributes are those
 * of docs/item-format.md.
 */
import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { TaskFailure } from '../errors.ts';
import { abortable, callOptions } from '../internal/time.ts';
import { earliestFailure, sumOf } from '../spawn/shards.ts';
import { readRwState, readSemState } from '../sync/holders.ts';
import {
  checkVersion,
  FORMAT_VERSION,
  SHARDED_FORMAT_VERSION,
  type Item,
  type ItemKind,
  itemKindOf,
  keys,
  nameOfItem,
  readNumber,
  readString,
  s,
} from './layout.ts';

/** A channel's counts, from its meta item (all zero before its first send). */
export interface ChannelRecord {
  name: string;
  /** Sent and not yet received (Go's `len(ch)`), exact. */
  queued: number;
  sent: number;
  received: number;
  /** Counted out unsent: their senders could not tell whether SQS took them (docs/wire-format.md). */
  abandoned: number;
  closed: boolean;
}

/** A Mutex's item: its holder and fence. */
export interface MutexRecord {
  name: string;
  /** The holder's token (`<owner>/<uuid>`), or null if the lock is free. */
  holder: string | null;
  /** Grants so far (the last holder's fencing token). */
  fence: number;
  /** When the holder's lease ends (epoch ms, the holder's clock); null if free. */
  leaseUntil: number | null;
}

/** A lease on a lock held by one of several holders (an RWMutex's reader, a Semaphore's permit holder). */
export interface LeaseRecord {
  /** The holder's token (`<owner>/<uuid>`). */
  holder: string;
  /** When its lease ends (epoch ms, the holder's clock); it may have ended already (not cleared until the next grant). */
  leaseUntil: number;
}

/** An RWMutex's item (docs/primitives/rwmutex.md): its writer, fence, readers and a waiting writer's intent. */
export interface RWMutexRecord {
  name: string;
  /** The write holder's token, or null if no writer holds it. */
  writer: string | null;
  /** Write grants so far (the last writer's fencing token). */
  fence: number;
  /** When the writer's lease ends (epoch ms, its clock); null if no writer. */
  writerUntil: number | null;
  /** Every reader entry of the item, by token (expired ones too, until a grant clears them). */
  readers: LeaseRecord[];
  /** The token of a writer waiting for the readers to drain, or null. */
  writerWaiting: string | null;
}

/** A Semaphore's item (docs/primitives/semaphore.md): its capacity and permit holders. */
export interface SemaphoreRecord {
  name: string;
  /** Permits in all (set by the first participant). */
  capacity: number;
  /** Permits recorded as held: the item's `used`, the weights of every holder entry, live or expired. */
  used: number;
  /** Every holder entry, by token (expired ones too, until a grant clears them). */
  holders: (LeaseRecord & { weight: number })[];
  /** The token of the acquirer at the head of the line, or null. */
  waiter: string | null;
  /** The permits it waits for (0 if none waits). */
  waiterWeight: number;
}

/** A Group's counts (an unsharded group's item; a sharded group's shard 0). */
export interface GroupRecord {
  id: string;
  started: number;
  pending: number;
  succeeded: number;
  failed: number;
  /** The first task that failed, or null. */
  firstError: TaskFailure | null;
}

/** A WaitGroup's counter (an unsharded wait group's; a sharded one's shard 0). */
export interface WaitGroupRecord {
  name: string;
  count: number;
  /** Tasks started by `go`. */
  started: number;
  /** Tasks that never reported, counted out by a `wait`. */
  lost: number;
  firstLost: TaskFailure | null;
}

/** A Once key's state. */
export interface OnceRecord {
  key: string;
  /** `running`, `done` or `failed`. */
  state: string;
  /** Runs so far. */
  fence: number;
  /** The running (or last) runner's token, or null. */
  owner: string | null;
}

export interface MeshItems {
  channels: ChannelRecord[];
  mutexes: MutexRecord[];
  rwMutexes: RWMutexRecord[];
  semaphores: SemaphoreRecord[];
  groups: GroupRecord[];
  waitGroups: WaitGroupRecord[];
  onceKeys: OnceRecord[];
}

/** A channel's record from its meta item; zeros for a channel without one (never sent to). */
export function channelRecord(name: string, item: Item | undefined): ChannelRecord {
  return {
    name,
    queued: readNumber(item, 'queued') ?? 0,
    sent: readNumber(item, 'sent') ?? 0,
    received: readNumber(item, 'received') ?? 0,
    abandoned: readNumber(item, 'abandoned') ?? 0,
    closed: item?.closedAt !== undefined,
  };
}

function mutexRecord(name: string, item: Item): MutexRecord {
  const holder = readString(item, 'owner') ?? null;
  const leaseUntil = readNumber(item, 'leaseUntil');
  return {
    name,
    holder,
    fence: readNumber(item, 'fence') ?? 0,
    leaseUntil: holder !== null && leaseUntil !== undefined ? leaseUntil : null,
  };
}

function rwMutexRecord(name: string, item: Item): RWMutexRecord {
  const state = readRwState(item);
  return {
    name,
    writer: state.writer?.token ?? null,
    fence: state.fence,
    writerUntil: state.writer?.until ?? null,
    readers: [...(state.readers ?? [])].map(([holder, leaseUntil]) => ({ holder, leaseUntil })).sort((a, b) => byName(a.holder, b.holder)),
    writerWaiting: state.intent?.token ?? null,
  };
}

function semaphoreRecord(name: string, item: Item): SemaphoreRecord {
  const state = readSemState(item);
  return {
    name,
    capacity: state.capacity ?? 0,
    used: state.used,
    holders: [...(state.holders ?? [])]
      .map(([holder, { weight, until }]) => ({ holder, weight, leaseUntil: until }))
      .sort((a, b) => byName(a.holder, b.holder)),
    waiter: state.waiter?.token ?? null,
    waiterWeight: state.waiter?.weight ?? 0,
  };
}

/** A Group's record from its counter items: one item unsharded, every shard's item when sharded (summed). */
function groupRecord(id: string, items: readonly Item[]): GroupRecord {
  return {
    id,
    started: sumOf(items, 'started'),
    pending: sumOf(items, 'pending'),
    succeeded: sumOf(items, 'succeeded'),
    failed: sumOf(items, 'failed'),
    firstError: earliestFailure(items, 'firstError') ?? null,
  };
}

/** A WaitGroup's record from its counter items, as for a Group. */
function waitGroupRecord(name: string, items: readonly Item[]): WaitGroupRecord {
  return {
    name,
    count: sumOf(items, 'count'),
    started: sumOf(items, 'started'),
    lost: sumOf(items, 'lost'),
    firstLost: earliestFailure(items, 'firstLost') ?? null,
  };
}

function onceRecord(key: string, item: Item): OnceRecord {
  return { key, state: readString(item, 'state') ?? '', fence: readNumber(item, 'fence') ?? 0, owner: readString(item, 'owner') ?? null };
}

/**
 * Each kind a listing can ask for: which items are its own, and how its record is read from them.
 * A sharded kind's record is read from all of a name's counter items (`<kind>#<name>` and
 * `<kind>.<k>#<name>`, format 2 when sharded).
 */
const KINDS = {
  channel: {
    kind: itemKindOf(keys.channel),
    sharded: false,
    add: (to: MeshItems, name: string, [item]: Item[]) => to.channels.push(channelRecord(name, item)),
  },
  mutex: {
    kind: itemKindOf(keys.mutex),
    sharded: false,
    add: (to: MeshItems, name: string, [item]: Item[]) => to.mutexes.push(mutexRecord(name, item!)),
  },
  rwMutex: {
    kind: itemKindOf(keys.rwMutex),
    sharded: false,
    add: (to: MeshItems, name: string, [item]: Item[]) => to.rwMutexes.push(rwMutexRecord(name, item!)),
  },
  semaphore: {
    kind: itemKindOf(keys.semaphore),
    sharded: false,
    add: (to: MeshItems, name: string, [item]: Item[]) => to.semaphores.push(semaphoreRecord(name, item!)),
  },
  group: {
    kind: itemKindOf((id) => keys.group(id)),
    sharded: true,
    add: (to: MeshItems, id: string, items: Item[]) => to.groups.push(groupRecord(id, items)),
  },
  waitGroup: {
    kind: itemKindOf((name) => keys.waitGroup(name)),
    sharded: true,
    add: (to: MeshItems, name: string, items: Item[]) => to.waitGroups.push(waitGroupRecord(name, items)),
  },
  once: {
    kind: itemKindOf(keys.once),
    sharded: false,
    add: (to: MeshItems, key: string, [item]: Item[]) => to.onceKeys.push(onceRecord(key, item!)),
  },
} satisfies Record<string, { kind: ItemKind; sharded: boolean; add: (to: MeshItems, name: string, items: Item[]) => void }>;

export type MeshItemKind = keyof typeof KINDS;

export const MESH_ITEM_KINDS = Object.keys(KINDS) as MeshItemKind[];

const byName = (a: string, b: string) => a.localeCompare(b);

/** `<kind>.` : the partition prefix of a sharded kind's shards k ≥ 1 (layout.ts, shardPartition). */
const shardPrefixOf = (kind: ItemKind) => `${kind.partitionPrefix.slice(0, -1)}.`;

/** The name an item belongs to under `kind` (its main item, or for a sharded kind any shard's), else undefined. */
function nameUnder(item: Item, kind: MeshItemKind): string | undefined {
  const { kind: itemKind, sharded } = KINDS[kind];
  const name = nameOfItem(item, itemKind);
  if (name !== undefined || !sharded) return name;
  const pk = item.pk?.S;
  const prefix = shardPrefixOf(itemKind);
  if (item.sk?.S !== itemKind.sortKey || !pk?.startsWith(prefix)) return undefined;
  const shard = /^\d+#/.exec(pk.slice(prefix.length));
  return shard ? pk.slice(prefix.length + shard[0].length) : undefined;
}

/**
 * The Scan filter that keeps only the items of `kinds` (it saves transfer, not capacity): the
 * expression (its terms OR-ed, so a caller may OR its own), with the names and values it uses
 * (`#pk`, `#sk`, `:sk<i>`, `:pk<i>`, `:shard<i>`).
 */
export function meshItemsFilter(kinds: readonly MeshItemKind[]) {
  const values: Item = {};
  const terms = kinds.map((name, index) => {
    const { kind, sharded } = KINDS[name];
    values[`:sk${index}`] = s(kind.sortKey);
    values[`:pk${index}`] = s(kind.partitionPrefix);
    if (!sharded) return `(#sk = :sk${index} AND begins_with(#pk, :pk${index}))`;
    values[`:shard${index}`] = s(shardPrefixOf(kind));
    return `(#sk = :sk${index} AND (begins_with(#pk, :pk${index}) OR begins_with(#pk, :shard${index})))`;
  });
  return {
    FilterExpression: terms.join(' OR '),
    ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
    ExpressionAttributeValues: values,
  };
}

/**
 * Reads the items of `kinds` among `items` (as a Scan returns them: any order, any mix of kinds,
 * items of other kinds ignored) into records, each list sorted by name.
 * @throws ItemFormatError if an item was written by a newer format version
 */
export function meshItemsOf(items: Iterable<Item>, kinds: readonly MeshItemKind[] = MESH_ITEM_KINDS): MeshItems {
  const listed: MeshItems = { channels: [], mutexes: [], rwMutexes: [], semaphores: [], groups: [], waitGroups: [], onceKeys: [] };
  const found = new Map<MeshItemKind, Map<string, Item[]>>();
  for (const item of items) {
    for (const kind of kinds) {
      const name = nameUnder(item, kind);
      if (name === undefined) continue;
      checkVersion(item, KINDS[kind].sharded ? SHARDED_FORMAT_VERSION : FORMAT_VERSION);
      const names = found.get(kind) ?? found.set(kind, new Map()).get(kind)!;
      names.set(name, [...(names.get(name) ?? []), item]);
    }
  }
  for (const [kind, names] of found) for (const [name, records] of names) KINDS[kind].add(listed, name, records);
  listed.channels.sort((a, b) => byName(a.name, b.name));
  listed.mutexes.sort((a, b) => byName(a.name, b.name));
  listed.rwMutexes.sort((a, b) => byName(a.name, b.name));
  listed.semaphores.sort((a, b) => byName(a.name, b.name));
  listed.groups.sort((a, b) => byName(a.id, b.id));
  listed.waitGroups.sort((a, b) => byName(a.name, b.name));
  listed.onceKeys.sort((a, b) => byName(a.key, b.key));
  return listed;
}

/**
 * Lists the main items of `kinds` (default: all), each list sorted by name.
 *
 * Cost: one paginated Scan of the whole mesh table, consistent (1 RCU per 4 KB of every item in
 * it, trace hops and claim markers included, whatever the filter keeps), paged by 1 MB. Fine for
 * a status view; not for a hot path.
 * @throws ItemFormatError if an item was written by a newer format version
 */
export async function listMeshItems(
  client: DynamoDBClient,
  tableName: string,
  options: { kinds?: readonly MeshItemKind[]; signal?: AbortSignal } = {},
): Promise<MeshItems> {
  const { kinds = MESH_ITEM_KINDS, signal } = options;
  if (kinds.length === 0) return meshItemsOf([], kinds);
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await abortable(signal, () =>
      client.send(
        new ScanCommand({
          TableName: tableName,
          ConsistentRead: true,
          ...meshItemsFilter(kinds),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
        callOptions(signal),
      ),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return meshItemsOf(items, kinds);
}
