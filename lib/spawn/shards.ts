/**
 * Sharded counters for WaitGroup and Group (docs/SCALING.md, "Sharded counters"). With `shards` =
 * N > 1 a group's counter is N items in N partitions, and each task's items live on one of them:
 *
 *   shard of a task   murmur3(taskId) mod N (lib/ring/hash.ts; seed 0, UTF-8 bytes)
 *   shard 0           the unsharded item's own keys: waitgroup#<name> / counter, group#<id> / group
 *   shard k ≥ 1       waitgroup.<k>#<name> / counter, group.<k>#<id> / group; a task's marker
 *                     (done#<taskId>, task#<taskId>) in the same partition as its shard's counter
 *
 * Every counter write of a sharded group sets `shards = N`, `v = 2` and `ADD writes 1`, on the
 * condition that the item is new or has `shards = N` (an unsharded group's item has none); the
 * readers sum the shards. N = 1 is format 1
 * exactly: no `shards`, no `writes`, `v = 1` (its writes only add the condition
 * `attribute_not_exists(shards)`, so that an unsharded participant of a sharded group is refused).
 */
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ShardCountMismatchError, type TaskFailure } from '../errors.ts';
import { retryConflicts } from '../internal/conflicts.ts';
import { abortable, backoffMs, callOptions, sleep } from '../internal/time.ts';
import { murmur3 } from '../ring/hash.ts';
import {
  checkVersion,
  FORMAT_VERSION,
  type Item,
  type Key,
  keys,
  MAX_SHARDS,
  n,
  readNumber,
  readString,
  SHARDED_FORMAT_VERSION,
} from '../table/layout.ts';
import type { TaskRef } from './go.ts';

/** Which group: everything of a TaskRef but the task. */
export type ShardedGroupRef = Pick<TaskRef, 'kind' | 'tableName' | 'name' | 'shards'>;

/** The shard of task `taskId` in a group of `shards` shards: murmur3(taskId) mod shards. */
export function shardOf(taskId: string, shards = 1): number {
  return shards <= 1 ? 0 : murmur3(taskId) % shards;
}

/** Whether a task envelope's `shards` is valid: absent, or an integer from 1 to MAX_SHARDS. */
export function isValidShards(shards: unknown): shards is number | undefined {
  return shards === undefined || (typeof shards === 'number' && Number.isSafeInteger(shards) && shards >= 1 && shards <= MAX_SHARDS);
}

/** The item format version of a group with `shards` shards: 1 unsharded, 2 sharded. */
export function formatOf(shards = 1): number {
  return shards > 1 ? SHARDED_FORMAT_VERSION : FORMAT_VERSION;
}

/** Shard `shard`'s counter item: the group item, or the wait group's counter. */
export function counterKey(group: Pick<TaskRef, 'kind' | 'name'>, shard = 0): Key {
  return group.kind === 'group' ? keys.group(group.name, shard) : keys.waitGroup(group.name, shard);
}

/** A task's item (`task#<taskId>` in a group, `done#<taskId>` in a wait group), on its shard. */
export function taskKey(task: Pick<TaskRef, 'kind' | 'name' | 'taskId' | 'shards'>): Key {
  const shard = shardOf(task.taskId, task.shards);
  return task.kind === 'group' ? keys.groupTask(task.name, task.taskId, shard) : keys.waitGroupTask(task.name, task.taskId, shard);
}

/** The shard count an item says its group has (an item without `shards` is unsharded: 1). */
export function storedShards(item: Item | undefined): number {
  return readNumber(item, 'shards') ?? 1;
}

/**
 * The condition and updates that keep a counter write to its group's shard count: the names and
 * values to merge into an UpdateItem (or a transaction's Update) of a counter item.
 */
export function shardGuard(shards = 1): {
  condition: string;
  set: string;
  add: string;
  names: Record<string, string>;
  values: Item;
} {
  if (shards <= 1) return { condition: 'attribute_not_exists(#shards)', set: '', add: '', names: { '#shards': 'shards' }, values: {} };
  return {
    // A new item, or one of this shard count: an unsharded group's item (no `shards`) is refused.
    condition: '(attribute_not_exists(#pk) OR #shards = :shards)',
    set: ', #shards = :shards',
    add: ', #writes :oneWrite',
    names: { '#pk': 'pk', '#shards': 'shards', '#writes': 'writes' },
    values: { ':shards': { N: String(shards) }, ':oneWrite': { N: '1' } },
  };
}

/** Throws ShardCountMismatchError if `item` (a counter item, or the ALL_OLD of a refusal) belongs to a group with other shards. */
export function checkShardsOf(group: ShardedGroupRef, item: Item | undefined): void {
  if (!item) return;
  checkVersion(item, SHARDED_FORMAT_VERSION);
  const stored = storedShards(item);
  if (stored !== (group.shards ?? 1)) throw new ShardCountMismatchError(group.kind, group.name, group.shards ?? 1, stored);
}

const UNPROCESSED_RETRY = { baseMs: 25, maxMs: 1000 } as const;

/**
 * Every shard's counter item, strongly consistent, in shard order (undefined: never written).
 * Unsharded: 1 GetItem. Sharded: 1 BatchGetItem of the N items (N read units), plus one per round
 * of keys DynamoDB left unprocessed (retried with backoff). Not a snapshot: each item is read at
 * its own instant (see `sameWrites`).
 * @throws ShardCountMismatchError if an item belongs to a group with another shard count
 * @throws ItemFormatError if an item is of a newer format
 */
export async function readCounters(client: DynamoDBClient, group: ShardedGroupRef, signal?: AbortSignal): Promise<(Item | undefined)[]> {
  const shards = group.shards ?? 1;
  if (shards === 1) {
    const { Item } = await abortable(signal, () =>
      client.send(new GetItemCommand({ TableName: group.tableName, Key: counterKey(group), ConsistentRead: true }), callOptions(signal)),
    );
    checkShardsOf(group, Item);
    return [Item];
  }
  const wanted = Array.from({ length: shards }, (_, shard) => counterKey(group, shard));
  const found = new Map<string, Item>();
  let pending: Key[] = wanted;
  for (let attempt = 1; pending.length; attempt++) {
    if (attempt > 1) await sleep(backoffMs(attempt - 1, UNPROCESSED_RETRY), signal);
    const batch = pending;
    const { Responses, UnprocessedKeys } = await abortable(signal, () =>
      client.send(
        new BatchGetItemCommand({ RequestItems: { [group.tableName]: { Keys: batch, ConsistentRead: true } } }),
        callOptions(signal),
      ),
    );
    for (const item of Responses?.[group.tableName] ?? []) found.set(item.pk!.S!, item);
    pending = (UnprocessedKeys?.[group.tableName]?.Keys ?? []) as Key[];
  }
  const items = wanted.map((key) => found.get(key.pk.S!));
  for (const item of items) checkShardsOf(group, item);
  return items;
}

/**
 * Whether two reads of the shards, the second begun after the first ended, saw the same `writes`
 * on every shard. Every counter write adds 1 to its shard's `writes`, so then no shard changed
 * between its two reads, and the first read's values all held at one instant (the end of the
 * first read): their sum is the true sum at that instant (a double collect).
 */
export function sameWrites(first: readonly (Item | undefined)[], second: readonly (Item | undefined)[]): boolean {
  return first.length === second.length && first.every((item, shard) => readNumber(item, 'writes') === readNumber(second[shard], 'writes'));
}

/**
 * The earliest task failure recorded under `attribute` (a Group's `firstError`, a WaitGroup's
 * `firstLost`) over the shards' counter items (one item: unsharded).
 */
export function earliestFailure(items: readonly (Item | undefined)[], attribute: 'firstError' | 'firstLost'): TaskFailure | undefined {
  const failures = items.flatMap((item) => {
    const map = item?.[attribute]?.M;
    if (!map) return [];
    return [
      {
        failure: {
          taskId: readString(map, 'taskId') ?? '',
          functionName: readString(map, 'functionName') ?? '',
          errorType: readString(map, 'errorType') ?? 'Error',
          errorMessage: readString(map, 'errorMessage') ?? '',
        },
        finishedAt: readNumber(map, 'finishedAt') ?? 0,
      },
    ];
  });
  return failures.sort((a, b) => a.finishedAt - b.finishedAt)[0]?.failure;
}

/** The sum of a number attribute over the shards. */
export function sumOf(items: readonly (Item | undefined)[], attribute: string): number {
  return items.reduce((sum, item) => sum + (readNumber(item, attribute) ?? 0), 0);
}

/** Sets `shards` and `v` on shard 0 of a sharded group, if it has no other `shards`. Cost: 1 UpdateItem. */
export async function declareShards(client: DynamoDBClient, group: ShardedGroupRef, signal: AbortSignal | undefined): Promise<void> {
  const guard = shardGuard(group.shards);
  try {
    await retryConflicts(`${group.kind} ${group.name}: declare shards`, signal, () =>
      client.send(
        new UpdateItemCommand({
          TableName: group.tableName,
          Key: counterKey(group),
          UpdateExpression: 'SET #v = :v, #shards = :shards',
          ConditionExpression: guard.condition,
          ExpressionAttributeNames: { '#v': 'v', '#pk': 'pk', '#shards': 'shards' },
          ExpressionAttributeValues: { ':v': n(formatOf(group.shards)), ':shards': n(group.shards ?? 1) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        callOptions(signal),
      ),
    );
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) checkShardsOf(group, err.Item);
    throw err;
  }
}
