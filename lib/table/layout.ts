/**
 * The mesh table's item layout, format version 1 (see docs/item-format.md). One DynamoDB table,
 * keys `pk` (S) and `sk` (S); every primitive's items are named here and nowhere else, so another
 * language can take the same lock or join the same group by following this file.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ItemFormatError, MeshConfigError } from '../errors.ts';

export const FORMAT_VERSION = 1;

/**
 * The format of a sharded WaitGroup's or Group's items (`shards` > 1): every shard item carries
 * `v = 2`, so a reader of format 1 refuses the group instead of reading shard 0 as its whole
 * count. Everything else is format 1.
 */
export const SHARDED_FORMAT_VERSION = 2;

/** A sharded WaitGroup or Group has at most this many shards (one BatchGetItem reads them all). */
export const MAX_SHARDS = 100;

/**
 * A failure's error message (a task's, a Once run's) is stored cut to this many characters: an
 * error message can be long, and an item holds 400 KB; a write refused for size would lose the
 * failure itself.
 */
export const MAX_STORED_ERROR_CHARS = 2000;

/** A shard count: an integer from 1 (unsharded, format 1) to MAX_SHARDS. */
export function checkShards(shards: number | undefined): number {
  if (shards === undefined) return 1;
  if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_SHARDS)
    throw new MeshConfigError(`shards must be an integer from 1 to ${MAX_SHARDS}, got ${shards}`);
  return shards;
}

/**
 * The partition key of shard `shard` of a sharded primitive: `<kind>#<name>` for shard 0 (the
 * unsharded item's own key), `<kind>.<shard>#<name>` otherwise. The index goes before the first
 * `#` because names may contain `#`.
 */
export function shardPartition(kind: string, name: string, shard = 0): string {
  return shard === 0 ? `${kind}#${name}` : `${kind}.${shard}#${name}`;
}

export type Key = Record<'pk' | 'sk', AttributeValue>;
export type Item = Record<string, AttributeValue>;

const MAX_NAME_BYTES = 512;

/** A primitive's name: non-empty, at most 512 bytes of UTF-8, no control characters. */
export function checkName(kind: string, name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new MeshConfigError(`${kind} name must be a non-empty string`);
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw new MeshConfigError(`${kind} name is over ${MAX_NAME_BYTES} bytes`);
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new MeshConfigError(`${kind} name must not contain control characters`);
  return name;
}

function key(pk: string, sk: string): Key {
  return { pk: { S: pk }, sk: { S: sk } };
}

/** A trace's partition, `trace#<traceId>`: its hops, sorted by start time. */
export function tracePartition(traceId: string): string {
  return `trace#${traceId}`;
}

/** The sort key prefix of a task item (`<prefix><taskId>`), in its group's or wait group's partition. */
export const TASK_SORT_KEY_PREFIX = { group: 'task#', waitgroup: 'done#' } as const;

/** Every item kind of format version 1: partition `<kind>#<name>`, sort key as listed. */
export const keys = {
  mutex: (name: string) => key(`mutex#${name}`, 'lock'),
  rwMutex: (name: string) => key(`rwmutex#${name}`, 'lock'),
  semaphore: (name: string) => key(`semaphore#${name}`, 'sem'),
  /** Shard 0 is the unsharded counter; shard k ≥ 1 is `waitgroup.<k>#<name>` / `counter`. */
  waitGroup: (name: string, shard = 0) => key(shardPartition('waitgroup', name, shard), 'counter'),
  waitGroupTask: (name: string, taskId: string, shard = 0) =>
    key(shardPartition('waitgroup', name, shard), `${TASK_SORT_KEY_PREFIX.waitgroup}${taskId}`),
  /** Shard 0 is the unsharded group item; shard k ≥ 1 is `group.<k>#<id>` / `group`. */
  group: (id: string, shard = 0) => key(shardPartition('group', id, shard), 'group'),
  groupTask: (id: string, taskId: string, shard = 0) => key(shardPartition('group', id, shard), `${TASK_SORT_KEY_PREFIX.group}${taskId}`),
  once: (name: string) => key(`once#${name}`, 'once'),
  channel: (name: string) => key(`channel#${name}`, 'meta'),
  channelMessage: (name: string, messageId: string) => key(`channel#${name}`, `msg#${messageId}`),
  channelSendIntent: (name: string, intentId: string) => key(`channel#${name}`, `send#${intentId}`),
  traceHop: (traceId: string, startedAt: number, hopId: string) =>
    key(tracePartition(traceId), `${String(startedAt).padStart(15, '0')}#${hopId}`),
  fence: (pk: string, sk: string) => key(pk, sk),
};

/** How to recognise a kind's main item in a listing: its partition prefix (`<kind>#`) and sort key. */
export interface ItemKind {
  partitionPrefix: string;
  sortKey: string;
}

/** The kind of item `keyOf` names (e.g. `keys.mutex`): read off the key it gives an empty name. */
export function itemKindOf(keyOf: (name: string) => Key): ItemKind {
  const { pk, sk } = keyOf('');
  return { partitionPrefix: pk.S!, sortKey: sk.S! };
}

/**
 * The name in `<kind>#<name>` if `item` is the main item of that kind (its sort key, and a
 * partition with its prefix; a shard k ≥ 1, `<kind>.<k>#<name>`, is not), else undefined.
 */
export function nameOfItem(item: Item, kind: ItemKind): string | undefined {
  const pk = item.pk?.S;
  if (item.sk?.S !== kind.sortKey || pk === undefined || !pk.startsWith(kind.partitionPrefix)) return undefined;
  return pk.slice(kind.partitionPrefix.length);
}

/**
 * The example stack's own items (functions/ and the CLI's demos share them; not part of the
 * format): named here too, so that the handler that writes one and the demo that reads it agree.
 */
export const exampleKeys = {
  /** The counter demo's counter (`value` N), incremented under a Mutex. */
  counter: (name: string) => key(`counter#${name}`, 'counter'),
  /** The partition of a demo run: its results, first-attempt markers and key arrivals. */
  run: (runId: string) => `run#${runId}`,
  /** A task's result (`task`, `result` N), written by the square worker. */
  runResult: (runId: string, task: number) => key(exampleKeys.run(runId), `${RUN_SORT_KEY_PREFIX.result}${taskNumber(task)}`),
  /** Marks that a task's first attempt happened (`failOnce`: only that attempt fails). */
  runAttempt: (runId: string, task: number) => key(exampleKeys.run(runId), `attempt#${taskNumber(task)}`),
  /** Where a key arrived in the shards demo (`key` S, `shards` SS: the shards it reached). */
  runKeyArrival: (runId: string, shardKey: string) => key(exampleKeys.run(runId), `${RUN_SORT_KEY_PREFIX.keyArrival}${shardKey}`),
};

/** The sort key prefixes a demo queries a run's partition by. */
export const RUN_SORT_KEY_PREFIX = { result: 'result#', keyArrival: 'key#' } as const;

const taskNumber = (task: number) => String(task).padStart(8, '0');

/** Epoch seconds for the TTL attribute `expiresAt` (housekeeping on AWS only; never relied on). */
export function ttlSeconds(epochMs: number): AttributeValue {
  return { N: String(Math.ceil(epochMs / 1000)) };
}

export const n = (value: number): AttributeValue => ({ N: String(value) });
export const s = (value: string): AttributeValue => ({ S: value });

export function readNumber(item: Item | undefined, attribute: string): number | undefined {
  const value = item?.[attribute];
  if (value === undefined || value.NULL) return undefined;
  if (value.N === undefined) throw new ItemFormatError(`attribute ${attribute} is not a number`);
  return Number(value.N);
}

export function readString(item: Item | undefined, attribute: string): string | undefined {
  const value = item?.[attribute];
  if (value === undefined || value.NULL) return undefined;
  if (value.S === undefined) throw new ItemFormatError(`attribute ${attribute} is not a string`);
  return value.S;
}

/** Refuses items written by a newer format than this library understands (`newest`: for this item kind). */
export function checkVersion(item: Item | undefined, newest = FORMAT_VERSION): void {
  const version = readNumber(item, 'v');
  if (version !== undefined && version > newest) {
    throw new ItemFormatError(`item format version ${version} is newer than this fnmesh (${newest})`);
  }
}

/** The sort-key prefix of a channel's send intents (`send#`), to query them: read off `keys.channelSendIntent`. */
export const CHANNEL_SEND_INTENT_PREFIX = keys.channelSendIntent('', '').sk.S!;
const CHANNEL_MESSAGE_PREFIX = keys.channelMessage('', '').sk.S!;

/** The message id a channel marker's sort key (`msg#<id>`) names, or undefined for any other sort key. */
export function channelMessageIdOf(sortKey: string | undefined): string | undefined {
  return sortKey?.startsWith(CHANNEL_MESSAGE_PREFIX) ? sortKey.slice(CHANNEL_MESSAGE_PREFIX.length) : undefined;
}
