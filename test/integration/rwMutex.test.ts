/**
 * RWMutex against LocalStack's DynamoDB (moto): readers share, writers exclude, a waiting writer
 * is not starved, expired leases (readers', a waiting writer's intent) stop blocking.
 */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockLostError, LockNotHeldError, MeshAbortError } from '../../lib/errors.ts';
import { CallCounter } from '../../lib/faults/callCounter.ts';
import { QUEUE_UNTIL, ticketAttribute, ticketsOf } from '../../lib/sync/mutexQueue.ts';
import { LocalWakeups } from '../../lib/sync/localWakeups.ts';
import { eventually } from '../helpers/eventually.ts';
import { queuedTokens, until, writeQueuedTicket } from '../helpers/lockQueue.ts';
import type { HeldLock } from '../../lib/sync/Mutex.ts';
import { RWMutex } from '../../lib/sync/RWMutex.ts';
import { keys } from '../../lib/table/layout.ts';
import { countedClients } from '../../infra/localstack/clients.ts';
import { createMeshTable, deleteMeshTable, dynamodb, uniqueSuffix } from '../../infra/localstack/resources.ts';

let tableName: string;

beforeAll(async () => {
  tableName = await createMeshTable('rwmutex');
});

afterAll(async () => {
  await deleteMeshTable(tableName);
});

const rwMutex = (name: string, options: Partial<ConstructorParameters<typeof RWMutex>[0]> = {}) =>
  new RWMutex({ client: dynamodb, tableName, name, clockSkewMs: 100, backoff: { baseMs: 10, maxMs: 200 }, ...options });

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Interval {
  kind: 'read' | 'write';
  id: string;
  start: number;
  end: number;
  fence?: number;
}

const overlap = (a: Interval, b: Interval) => a.start < b.end && b.start < a.end;

async function readItem(name: string) {
  const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: keys.rwMutex(name), ConsistentRead: true }));
  return Item;
}

describe('RWMutex', () => {
  it('lets many readers hold at once, and keeps a writer out until the last one leaves', async () => {
    const lockName = `readers-${uniqueSuffix()}`;
    const readers = Array.from({ length: 6 }, (_, i) => rwMutex(lockName, { owner: `reader${i}` }));

    const held = await Promise.all(readers.map((reader) => reader.rLock({ signal: AbortSignal.timeout(10_000) })));

    expect(held).toHaveLength(6);
    const item = await readItem(lockName);
    expect(Object.keys(item?.readers?.M ?? {}).sort()).toEqual(held.map((lock) => lock.owner).sort());
    expect(await rwMutex(lockName).tryLock()).toBeUndefined();
    for (const reader of readers.slice(1)) await reader.rUnlock();
    expect(await rwMutex(lockName).tryLock()).toBeUndefined();
    await readers[0]!.rUnlock();
    const writer = await rwMutex(lockName).tryLock();
    expect(writer).toBeDefined();
    expect(await rwMutex(lockName).tryRLock()).toBeUndefined();
    await writer!.unlock();
  });

  it.each(['polling', 'fifo'] as const)(
    'never lets a writer overlap a reader or another writer; write fences strictly increase (%s)',
    async (fairness) => {
      const lockName = `exclusion-${uniqueSuffix()}`;
      const intervals: Interval[] = [];
      const actor = async (kind: 'read' | 'write', id: string, rounds: number) => {
        const rw = rwMutex(lockName, { owner: id, fairness });
        for (let round = 0; round < rounds; round++) {
          const signal = AbortSignal.timeout(60_000);
          const held = kind === 'read' ? await rw.rLock({ signal }) : await rw.lock({ signal });
          const start = Date.now();
          await pause(10 + Math.random() * 30);
          intervals.push({ kind, id, start, end: Date.now(), ...('fence' in held ? { fence: held.fence as number } : {}) });
          await held.unlock();
          await pause(Math.random() * 20);
        }
      };

      await Promise.all([
        ...Array.from({ length: 5 }, (_, i) => actor('read', `r${i}`, 6)),
        ...Array.from({ length: 3 }, (_, i) => actor('write', `w${i}`, 4)),
      ]);

      const reads = intervals.filter((interval) => interval.kind === 'read');
      const writes = intervals.filter((interval) => interval.kind === 'write');
      expect(reads).toHaveLength(30);
      expect(writes).toHaveLength(12);
      for (const write of writes) {
        for (const read of reads) expect(overlap(write, read), `${write.id} overlaps ${read.id}`).toBe(false);
        for (const other of writes) if (other !== write) expect(overlap(write, other), `${write.id} overlaps ${other.id}`).toBe(false);
      }
      const byStart = [...writes].sort((a, b) => a.start - b.start);
      for (let i = 1; i < byStart.length; i++) expect(byStart[i]!.fence).toBeGreaterThan(byStart[i - 1]!.fence!);
      expect(ticketsOf(await readItem(lockName))).toEqual([]); // every ticket left with its grant
    },
  );

  it('does not starve a waiting writer: a stream of overlapping readers drains and the writer gets in', async () => {
    const lockName = `starve-${uniqueSuffix()}`;
    let phase: 'before' | 'writing' | 'after' = 'before';
    let stop = false;
    const readsIn = { before: 0, writing: 0, after: 0 };
    const reader = async (id: string) => {
      const rw = rwMutex(lockName, { owner: id });
      while (!stop) {
        const held = await rw.rLock({ signal: AbortSignal.timeout(30_000) });
        readsIn[phase]++;
        await pause(80 + Math.random() * 40); // readers overlap: the lock is never free of them
        await held.unlock();
      }
    };
    const streams = Array.from({ length: 4 }, (_, i) => reader(`r${i}`));
    await pause(400);

    const startedAt = Date.now();
    const held = await rwMutex(lockName, { owner: 'writer' }).lock({ signal: AbortSignal.timeout(10_000) });
    const waitedMs = Date.now() - startedAt;
    phase = 'writing';
    const item = await readItem(lockName);
    await pause(200);
    phase = 'after';
    await held.unlock();
    await pause(300);
    stop = true;
    await Promise.all(streams);

    expect(readsIn.before).toBeGreaterThan(4);
    expect(waitedMs).toBeLessThan(3000);
    expect(item?.writer?.S).toBe(held.owner);
    expect(item?.readers?.M).toEqual({});
    expect(readsIn.writing).toBe(0);
    expect(readsIn.after).toBeGreaterThan(0); // and the readers get in again once it is done
  });

  it('takes the write lock once a reader whose time ran out stops renewing; the reader learns it lost the lock', async () => {
    const lockName = `expired-reader-${uniqueSuffix()}`;
    // A "Lambda" with 600 ms left: its read lease cannot outlive that.
    const deadline = Date.now() + 600;
    const reader = rwMutex(lockName, { leaseMs: 5000, remainingTimeMs: () => deadline - Date.now() });
    const read = await reader.rLock();

    const startedAt = Date.now();
    const write = await rwMutex(lockName, { leaseMs: 5000 }).lock({ signal: AbortSignal.timeout(5000) });
    const grantedAt = Date.now();

    // Not before the read lease's end (the reader's deadline) and the skew bound (100 ms here):
    // measured from the deadline, not from the end of rLock, which a loaded machine can delay.
    expect(grantedAt).toBeGreaterThanOrEqual(deadline + 100);
    expect(grantedAt - startedAt).toBeLessThan(3000);
    expect(read.signal.aborted).toBe(true);
    expect(read.signal.reason).toBeInstanceOf(LockLostError);
    await expect(read.unlock()).rejects.toBeInstanceOf(LockNotHeldError);
    await expect(reader.rUnlock()).rejects.toBeInstanceOf(LockNotHeldError);
    expect((await readItem(lockName))?.readers?.M).toEqual({});
    await write.unlock();
  });

  it('keeps new readers out while a writer waits, and lets them in again when it gives up', async () => {
    const lockName = `intent-${uniqueSuffix()}`;
    const early = await rwMutex(lockName).rLock();
    const writer = rwMutex(lockName, { owner: 'impatient' });

    // The writer gives up when told, not on a clock: a loaded machine must not end its wait
    // between the two looks below.
    const giveUp = new AbortController();
    const waiting = writer.lock({ signal: giveUp.signal });
    const intent = await eventually(async () => (await readItem(lockName))?.writerWaiting?.S, "the writer's intent on the item", 10_000);
    const refused = await rwMutex(lockName).tryRLock();

    expect(refused).toBeUndefined();
    expect(intent).toMatch(/^impatient\//);
    expect((await readItem(lockName))?.writerWaiting?.S).toBe(intent); // still waiting
    giveUp.abort();
    await expect(waiting).rejects.toBeInstanceOf(MeshAbortError);
    expect((await readItem(lockName))?.writerWaiting).toBeUndefined(); // withdrawn
    const late = await rwMutex(lockName).tryRLock();
    expect(late).toBeDefined();
    await late!.unlock();
    await early.unlock();
  });

  it("stops honouring a crashed waiting writer's intent once it expires", async () => {
    const lockName = `dead-intent-${uniqueSuffix()}`;
    await rwMutex(lockName)
      .tryRLock()
      .then((held) => held!.unlock()); // the item exists
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: keys.rwMutex(lockName),
        UpdateExpression: 'SET writerWaiting = :token, writerWaitingUntil = :until ADD version :one',
        ExpressionAttributeValues: { ':token': { S: 'crashed/writer' }, ':until': { N: String(Date.now() + 500) }, ':one': { N: '1' } },
      }),
    );

    expect(await rwMutex(lockName).tryRLock()).toBeUndefined();
    const startedAt = Date.now();
    const held = await rwMutex(lockName).rLock({ signal: AbortSignal.timeout(5000) });

    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(400);
    expect((await readItem(lockName))?.writerWaiting).toBeUndefined(); // cleared by the reader that got in
    await held.unlock();
  });

  it('gives every write grant a larger fence than the one before', async () => {
    const lockName = `fences-${uniqueSuffix()}`;
    const fences: number[] = [];

    for (let i = 0; i < 4; i++) {
      const held = i % 2 ? await rwMutex(lockName).lock() : await rwMutex(lockName).tryLock();
      fences.push(held!.fence);
      await held!.unlock();
      const read = await rwMutex(lockName).rLock(); // readers in between take no fence
      await read.unlock();
    }

    expect(fences).toEqual([1, 2, 3, 4]);
  });

  it('refuses rUnlock and unlock by an RWMutex that holds nothing, and a second release', async () => {
    const lockName = `not-held-${uniqueSuffix()}`;
    const rw = rwMutex(lockName);

    await expect(rw.rUnlock()).rejects.toBeInstanceOf(LockNotHeldError);
    await expect(rw.unlock()).rejects.toBeInstanceOf(LockNotHeldError);
    const read = await rw.rLock();
    await expect(rw.unlock()).rejects.toBeInstanceOf(LockNotHeldError); // holds a read lock, not the write lock
    await rw.rUnlock();
    await expect(rw.rUnlock()).rejects.toBeInstanceOf(LockNotHeldError);
    await expect(read.unlock()).rejects.toBeInstanceOf(LockNotHeldError);
    const write = await rw.lock();
    await write.unlock();
    await expect(write.unlock()).rejects.toBeInstanceOf(LockNotHeldError);
    await expect(rw.unlock()).rejects.toBeInstanceOf(LockNotHeldError);
  });

  it('keeps locks past their lease while heartbeating, and releases them at the end of an `await using` scope', async () => {
    const lockName = `scoped-${uniqueSuffix()}`;
    // Held 1.5 leases. A lease of 2 s, not less: on a loaded machine a renewal and its SDK retry
    // can take longer than a shorter lease's last third, and the holder rightly learns it lost it.
    {
      await using read = await rwMutex(lockName, { leaseMs: 2000 }).rLock();
      await pause(3000);
      expect(read.signal.aborted).toBe(false);
      expect(await rwMutex(lockName).tryLock()).toBeUndefined();
    }
    {
      await using write = await rwMutex(lockName, { leaseMs: 2000 }).lock();
      await pause(3000);
      expect(write.signal.aborted).toBe(false);
      expect(await rwMutex(lockName).tryRLock()).toBeUndefined();
    }

    const after = await rwMutex(lockName).tryLock();
    expect(after).toBeDefined();
    await after!.unlock();
  });
});

describe("RWMutex starvation mode ('fifo')", () => {
  const fifo = (name: string, options: Partial<ConstructorParameters<typeof RWMutex>[0]> = {}) =>
    rwMutex(name, { fairness: 'fifo', ...options });
  const ticketsOn = async (name: string) => queuedTokens(await readItem(name));

  it('serves readers and writers in the order they asked: readers queued together go in together, a later reader waits behind a writer', async () => {
    const name = `fifo-${uniqueSuffix()}`;
    const holder = await fifo(name).lock();
    const granted: string[] = [];
    const queue = async (owner: string, mode: 'read' | 'write', queued: number) => {
      const rw = fifo(name, { owner, starvationMs: 0 });
      const acquiring = (mode === 'read' ? rw.rLock() : rw.lock()).then((held) => (granted.push(owner), held));
      await until(async () => (await ticketsOn(name)).length === queued);
      return { acquiring }; // wrapped: an async function would wait for it
    };
    const { acquiring: reader1 } = await queue('reader1', 'read', 1);
    const { acquiring: reader2 } = await queue('reader2', 'read', 2);
    const { acquiring: writer } = await queue('writer', 'write', 3);
    const { acquiring: reader3 } = await queue('reader3', 'read', 4);
    expect((await ticketsOn(name)).map((token) => token.split('/')[0])).toEqual(['reader1', 'reader2', 'writer', 'reader3']);

    await holder.unlock();
    const [read1, read2] = await Promise.all([reader1, reader2]); // both in at once
    expect(granted.slice().sort()).toEqual(['reader1', 'reader2']);
    // reader3 could share the lock with them, but it asked after the writer: it waits, and so does a newcomer.
    expect(await fifo(name).tryRLock()).toBeUndefined();
    await pause(300);
    expect(granted).toHaveLength(2);
    await read1.unlock();
    await read2.unlock();
    const write = (await writer) as HeldLock;
    expect(write.fence).toBeGreaterThan(holder.fence);
    await pause(100);
    expect(granted.slice(2)).toEqual(['writer']);
    await write.unlock();
    await (await reader3).unlock();
    expect(granted.slice(2)).toEqual(['writer', 'reader3']);
    // The last grant closed the queue: no ticket, no gate; a newcomer writer takes it at once.
    const item = await readItem(name);
    expect(ticketsOf(item)).toEqual([]);
    expect(item?.[QUEUE_UNTIL]).toBeUndefined();
    const next = await fifo(name).tryLock();
    expect(next?.fence).toBe(write.fence + 1);
    await next!.unlock();
  });

  it('skips the ticket of a waiter that died once its ticket lease ends, and sweeps it', async () => {
    const name = `dead-waiter-${uniqueSuffix()}`;
    await (await fifo(name).rLock()).unlock(); // the item exists, free
    const deadUntil = Date.now() + 600;
    await writeQueuedTicket(
      dynamodb,
      { tableName, key: keys.rwMutex(name) },
      { queuedAt: Date.now() - 1000, token: 'dead/1', until: deadUntil },
    ); // a writer's ticket
    expect(await fifo(name).tryRLock()).toBeUndefined(); // the gate holds newcomers back meanwhile

    const read = await fifo(name).rLock({ signal: AbortSignal.timeout(10_000) });

    expect(Date.now()).toBeGreaterThanOrEqual(deadUntil + 100); // its lease plus the skew bound (100 ms here)
    const item = await readItem(name);
    expect(ticketsOf(item)).toEqual([]);
    expect(item?.[QUEUE_UNTIL]).toBeUndefined();
    await read.unlock();
  });

  it("withdraws an aborted waiter's ticket and the gate it leaves", async () => {
    const name = `withdraw-${uniqueSuffix()}`;
    const holder = await fifo(name).lock();
    const waiting = fifo(name, { starvationMs: 0 }).rLock({ signal: AbortSignal.timeout(400) });
    await until(async () => (await ticketsOn(name)).length === 1);
    await expect(waiting).rejects.toBeInstanceOf(MeshAbortError);
    const item = await readItem(name);
    expect(ticketsOf(item)).toEqual([]);
    expect(item?.[QUEUE_UNTIL]).toBeUndefined();
    await holder.unlock();
    const read = await fifo(name).tryRLock(); // no gate left behind
    expect(read).toBeDefined();
    await read!.unlock();
  });

  it('lets a polling RWMutex past the queue, and not a fifo one', async () => {
    const name = `barge-${uniqueSuffix()}`;
    await (await fifo(name).rLock()).unlock();
    await writeQueuedTicket(
      dynamodb,
      { tableName, key: keys.rwMutex(name) },
      { queuedAt: Date.now(), token: 'waiter/1', until: Date.now() + 60_000 },
    );
    expect(await fifo(name).tryLock()).toBeUndefined();
    expect(await fifo(name).tryRLock()).toBeUndefined();
    const barger = await rwMutex(name, { fairness: 'polling' }).tryLock();
    expect(barger).toBeDefined();
    await barger!.unlock();
  });

  it('wakes a waiter of its own process when a read or write lock is released, once the release is applied', async () => {
    const name = `wakes-${uniqueSuffix()}`;
    // A queued waiter of this process, asleep on the lock's item for far longer than the test.
    const waiter = LocalWakeups.forItem(tableName, keys.rwMutex(name));
    const ticket = ticketAttribute(Date.now(), 'waiter/1');
    waiter.queued(ticket);
    const lock = rwMutex(name, { fairness: 'fifo' });
    let woken = 0;
    const sleepOnce = () => waiter.sleep(ticket, 60_000, undefined).then(() => woken++);
    const read = await lock.rLock();
    let sleeping = sleepOnce();
    await pause(50);
    expect(woken).toBe(0);
    await read.unlock();
    await sleeping;
    const write = await lock.lock();
    sleeping = sleepOnce();
    await pause(50);
    expect(woken).toBe(1);
    await write.unlock();
    await sleeping;
    expect(woken).toBe(2);
    waiter.left(ticket, false);
  });

  it('costs 2 calls for an uncontended rLock and rUnlock, and for a lock and unlock, as in polling mode', async () => {
    const name = `calls-${uniqueSuffix()}`;
    await (await fifo(name).rLock()).unlock(); // the item exists (its first use takes one more)
    const counter = new CallCounter();
    const counted = countedClients(counter).dynamodb;
    const rw = new RWMutex({ client: counted, tableName, name, fairness: 'fifo', clockSkewMs: 100 });

    await (await rw.rLock()).unlock();
    expect(counter.total('DynamoDB')).toBe(2);
    await (await rw.lock()).unlock();
    expect(counter.total('DynamoDB')).toBe(4);
    counted.destroy();
  });
});
