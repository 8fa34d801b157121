/** lib/table/reader.ts: the mesh table listed as typed records, from items real primitives wrote. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Once } from '../../lib/sync/Once.ts';
import { Mutex } from '../../lib/sync/Mutex.ts';
import { RWMutex } from '../../lib/sync/RWMutex.ts';
import { WaitGroup } from '../../lib/sync/WaitGroup.ts';
import { listMeshItems } from '../../lib/table/reader.ts';
import { createMeshTable, deleteMeshTable, dynamodb } from '../../infra/localstack/resources.ts';

let tableName: string;

beforeAll(async () => {
  tableName = await createMeshTable('reader');
});

afterAll(async () => {
  await deleteMeshTable(tableName);
});

describe('listMeshItems', () => {
  it('lists mutexes with holder, fence and lease, wait groups with counts and once keys with state, each sorted by name', async () => {
    // Prepare
    const held = await new Mutex({ client: dynamodb, tableName, name: 'b-held', owner: 'w1' }).lock();
    const freed = await new Mutex({ client: dynamodb, tableName, name: 'a-free' }).lock();
    await freed.unlock();
    const reading = await new RWMutex({ client: dynamodb, tableName, name: 'not-a-mutex' }).rLock();
    await new WaitGroup({ client: dynamodb, tableName, name: 'wg' }).add(3);
    await new Once({ client: dynamodb, tableName }).do('init', async () => 'ready');

    // Act
    const all = await listMeshItems(dynamodb, tableName);
    const mutexesOnly = await listMeshItems(dynamodb, tableName, { kinds: ['mutex'] });

    // Assess
    expect(all.mutexes).toEqual([
      { name: 'a-free', holder: null, fence: 1, leaseUntil: null },
      { name: 'b-held', holder: held.owner, fence: 1, leaseUntil: expect.any(Number) },
    ]);
    expect(all.mutexes[1]!.leaseUntil).toBeGreaterThan(Date.now());
    expect(all.waitGroups).toEqual([{ name: 'wg', count: 3, started: 0, lost: 0, firstLost: null }]);
    expect(all.onceKeys).toEqual([{ key: 'init', state: 'done', fence: 1, owner: expect.any(String) }]);
    expect(all.channels).toEqual([]);
    expect(all.groups).toEqual([]);
    expect(all.rwMutexes).toEqual([
      {
        name: 'not-a-mutex',
        writer: null,
        fence: 0,
        writerUntil: null,
        readers: [{ holder: reading.owner, leaseUntil: expect.any(Number) }],
        writerWaiting: null,
      },
    ]);
    expect(all.semaphores).toEqual([]);
    expect(mutexesOnly).toEqual({
      channels: [],
      mutexes: all.mutexes,
      rwMutexes: [],
      semaphores: [],
      groups: [],
      waitGroups: [],
      onceKeys: [],
    });
    await held.unlock();
    await reading.unlock();
  });

  it('sums a sharded wait group over its shards (format 2 items), as its own count does', async () => {
    // Prepare
    const sharded = new WaitGroup({ client: dynamodb, tableName, name: 'sharded-wg', shards: 4 });
    await sharded.add(5);
    for (const taskId of ['t1', 't2', 't3']) await sharded.done(taskId);

    // Act
    const { waitGroups } = await listMeshItems(dynamodb, tableName, { kinds: ['waitGroup'] });

    // Assess
    expect(await sharded.count()).toBe(2);
    expect(waitGroups.find((group) => group.name === 'sharded-wg')).toEqual({
      name: 'sharded-wg',
      count: 2,
      started: 0,
      lost: 0,
      firstLost: null,
    });
  });
});
