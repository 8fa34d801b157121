/**
 * Sharded WaitGroup / Group counters, the pure parts: which shard a task is on, the keys, the
 * envelope a worker gets, the double collect that guards a wait's zero, reading on-failure records.
 */
import { describe, expect, it } from 'vitest';
import { MeshConfigError } from '../../lib/errors.ts';
import { envelope, type TaskRef } from '../../lib/spawn/go.ts';
import { lostTaskOf } from '../../lib/spawn/lostTasks.ts';
import { sameWrites, shardGuard, shardOf, sumOf, taskKey } from '../../lib/spawn/shards.ts';
import { WaitGroup } from '../../lib/sync/WaitGroup.ts';
import { checkShards, keys } from '../../lib/table/layout.ts';
import { murmur3 } from '../../lib/ring/hash.ts';

describe('shardOf', () => {
  it('is murmur3(taskId) mod shards, and 0 unsharded', () => {
    expect(shardOf('The quick brown fox jumps over the lazy dog', 8)).toBe(0x2e4ff723 % 8);
    for (const id of ['a', 'task-1', 'ü-ñ', '']) expect(shardOf(id, 7)).toBe(murmur3(id) % 7);
    expect(shardOf('anything')).toBe(0);
    expect(shardOf('anything', 1)).toBe(0);
  });

  it('spreads task ids evenly', () => {
    const counts = Array.from({ length: 8 }, () => 0);
    for (let i = 0; i < 8000; i++) counts[shardOf(`task-${i}`, 8)]!++;
    for (const count of counts) expect(count).toBeGreaterThan(850);
  });
});

describe('keys', () => {
  it('shard 0 is the unsharded key; shard k puts its index before the first #', () => {
    expect(keys.waitGroup('a#b')).toEqual({ pk: { S: 'waitgroup#a#b' }, sk: { S: 'counter' } });
    expect(keys.waitGroup('a#b', 0)).toEqual(keys.waitGroup('a#b'));
    expect(keys.waitGroup('a#b', 3)).toEqual({ pk: { S: 'waitgroup.3#a#b' }, sk: { S: 'counter' } });
    expect(keys.group('g', 12)).toEqual({ pk: { S: 'group.12#g' }, sk: { S: 'group' } });
    expect(keys.groupTask('g', 't', 2)).toEqual({ pk: { S: 'group.2#g' }, sk: { S: 'task#t' } });
  });

  it("a task's item is on its shard's partition", () => {
    const taskId = 'task-7';
    const shard = shardOf(taskId, 8);
    expect(taskKey({ kind: 'waitgroup', name: 'w', taskId, shards: 8 })).toEqual(keys.waitGroupTask('w', taskId, shard));
    expect(taskKey({ kind: 'group', name: 'g', taskId })).toEqual(keys.groupTask('g', taskId));
  });
});

describe('options', () => {
  it('shards is an integer from 1 to 100', () => {
    expect(checkShards(undefined)).toBe(1);
    expect(checkShards(100)).toBe(100);
    for (const bad of [0, 101, 1.5, -1, NaN]) expect(() => checkShards(bad)).toThrow(MeshConfigError);
    expect(() => new WaitGroup({ client: {} as never, tableName: 't', name: 'w', shards: 0 })).toThrow(MeshConfigError);
  });

  it('unsharded writes keep format 1: only a condition that the item has no shards', () => {
    expect(shardGuard(1)).toEqual({
      condition: 'attribute_not_exists(#shards)',
      set: '',
      add: '',
      names: { '#shards': 'shards' },
      values: {},
    });
    expect(shardGuard(8).values).toEqual({ ':shards': { N: '8' }, ':oneWrite': { N: '1' } });
  });
});

describe('envelope', () => {
  const task: TaskRef = { kind: 'group', tableName: 't', name: 'g', taskId: 'x', functionName: 'f' };

  it('is version 1 without shards, exactly as before', () => {
    expect(envelope(task, 1)).toEqual({ fnmesh: { v: 1, task }, payload: 1 });
    expect(envelope({ ...task, shards: 1 }, 1)).toEqual({ fnmesh: { v: 1, task }, payload: 1 });
  });

  it('is version 2 and carries the shard count when sharded', () => {
    expect(envelope({ ...task, shards: 8 }, 1)).toEqual({ fnmesh: { v: 2, task: { ...task, shards: 8 } }, payload: 1 });
  });

  it("an on-failure record keeps the task's shard count, and refuses a bad one", () => {
    const record = (shards: unknown) =>
      JSON.stringify({
        requestContext: { condition: 'RetriesExhausted' },
        requestPayload: { fnmesh: { v: 2, task: { ...task, shards } }, payload: {} },
      });
    expect(lostTaskOf(record(8), 't')).toMatchObject({ ok: true, task: { taskId: 'x', shards: 8 } });
    expect(lostTaskOf(record(0), 't')).toMatchObject({ ok: false, reason: expect.stringContaining('shard count') });
    expect(lostTaskOf(record('8'), 't').ok).toBe(false);
  });
});

describe('the double collect', () => {
  const shard = (count: number, writes: number) => ({ count: { N: String(count) }, writes: { N: String(writes) } });

  it('accepts a sum only when no shard was written between the two reads', () => {
    // A task on shard 0 starts a subtask on shard 1, then finishes. Read shard 1 before the
    // subtask's start and shard 0 after the finish: both 0, a false zero.
    const first = [shard(0, 2), shard(0, 0)];
    const second = [shard(0, 2), shard(1, 1)];
    expect(sumOf(first, 'count')).toBe(0);
    expect(sameWrites(first, second)).toBe(false);
    expect(sameWrites(second, [shard(0, 2), shard(1, 1)])).toBe(true);
    expect(sameWrites([undefined, shard(0, 1)], [undefined, shard(0, 1)])).toBe(true);
    expect(sameWrites([undefined], [shard(0, 1)])).toBe(false);
  });
});
