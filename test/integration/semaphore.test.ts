/**
 * Semaphore against LocalStack's DynamoDB (moto): never over-admits, reclaims the weight of
 * holders whose leases expired, refuses what Go would panic or block forever on.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LockLostError,
  LockNotHeldError,
  MeshAbortError,
  MeshConfigError,
  SemaphoreCapacityError,
  SemaphoreReleaseError,
  SemaphoreWeightError,
} from '../../lib/errors.ts';
import { CallCounter } from '../../lib/faults/callCounter.ts';
import { QUEUE_UNTIL, ticketAttribute, ticketsOf } from '../../lib/sync/mutexQueue.ts';
import { LocalWakeups } from '../../lib/sync/localWakeups.ts';
import { queuedTokens, until, writeQueuedTicket } from '../helpers/lockQueue.ts';
import { Semaphore } from '../../lib/sync/Semaphore.ts';
import { keys } from '../../lib/table/layout.ts';
import { countedClients } from '../../infra/localstack/clients.ts';
import { createMeshTable, deleteMeshTable, dynamodb, uniqueSuffix } from '../../infra/localstack/resources.ts';

let tableName: string;

beforeAll(async () => {
  tableName = await createMeshTable('semaphore');
});

afterAll(async () => {
  await deleteMeshTable(tableName);
});

const semaphore = (name: string, capacity: number, options: Partial<ConstructorParameters<typeof Semaphore>[0]> = {}) =>
  new Semaphore({ client: dynamodb, tableName, name, capacity, clockSkewMs: 100, backoff: { baseMs: 10, maxMs: 200 }, ...options });

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readItem(name: string) {
  const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: keys.semaphore(name), ConsistentRead: true }));
  return Item;
}

interface Interval {
  weight: number;
  start: number;
  end: number;
}

/** The largest total weight held at any instant (intervals recorded inside the real holding times). */
function peak(intervals: Interval[]): number {
  let max = 0;
  for (const at of intervals) {
    const held = intervals.filter((other) => other.start <= at.start && at.start < other.end).reduce((sum, other) => sum + other.weight, 0);
    max = Math.max(max, held);
  }
  return max;
}

describe('Semaphore', () => {
  it.each(['polling', 'fifo'] as const)(
    'never lets the weights held at once exceed the capacity; every acquirer gets in (%s)',
    async (fairness) => {
      const name = `capacity-${uniqueSuffix()}`;
      const capacity = 5;
      const intervals: Interval[] = [];
      const acquirer = async (id: number, rounds: number) => {
        const sem = semaphore(name, capacity, { owner: `a${id}`, fairness });
        for (let round = 0; round < rounds; round++) {
          const weight = 1 + Math.floor(Math.random() * capacity);
          const held = await sem.acquire(weight, { signal: AbortSignal.timeout(60_000) });
          const start = Date.now();
          await pause(10 + Math.random() * 40);
          intervals.push({ weight, start, end: Date.now() });
          await held.release();
        }
      };

      await Promise.all(Array.from({ length: 8 }, (_, id) => acquirer(id, 4)));

      expect(intervals).toHaveLength(32);
      expect(peak(intervals)).toBeLessThanOrEqual(capacity);
      expect(peak(intervals)).toBeGreaterThan(1); // holders did share it
      const item = await readItem(name);
      expect(item?.used?.N).toBe('0');
      expect(item?.holders?.M).toEqual({});
      expect(item?.capacity?.N).toBe('5');
      expect(ticketsOf(item)).toEqual([]); // every ticket left with its grant
    },
  );

  it('tryAcquire refuses when the semaphore is full, and admits again after a partial release', async () => {
    const name = `full-${uniqueSuffix()}`;
    const holder = semaphore(name, 3);
    const held = await holder.acquire(3);

    expect(await semaphore(name, 3).tryAcquire(1)).toBeUndefined();
    await held.release(1);
    expect(held.weight).toBe(2);
    const one = await semaphore(name, 3).tryAcquire(1);
    expect(one).toBeDefined();
    expect(await semaphore(name, 3).tryAcquire(1)).toBeUndefined();
    expect((await readItem(name))?.used?.N).toBe('3');
    await one!.release();
    await holder.release(2);
    expect((await readItem(name))?.used?.N).toBe('0');
  });

  it('throws SemaphoreReleaseError on releasing more than is held', async () => {
    const name = `over-release-${uniqueSuffix()}`;
    const sem = semaphore(name, 4);
    const small = await sem.acquire(1);
    const large = await sem.acquire(2);

    await expect(large.release(3)).rejects.toBeInstanceOf(SemaphoreReleaseError);
    await expect(sem.release(4)).rejects.toBeInstanceOf(SemaphoreReleaseError);
    expect(large.weight).toBe(2); // a refused release changes nothing
    await sem.release(3); // across both acquisitions
    expect(small.weight + large.weight).toBe(0);
    await expect(sem.release(1)).rejects.toBeInstanceOf(SemaphoreReleaseError);
    await expect(sem.release()).rejects.toBeInstanceOf(LockNotHeldError);
    await expect(small.release()).rejects.toBeInstanceOf(LockNotHeldError);
    expect((await readItem(name))?.used?.N).toBe('0');
  });

  it('fails at once on a weight over the capacity (where Go would block forever) or not a positive integer', async () => {
    const name = `too-heavy-${uniqueSuffix()}`;
    const counter = new CallCounter();
    const counted = countedClients(counter).dynamodb;
    const sem = semaphore(name, 3, { client: counted });

    const error = await sem.acquire(4).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(SemaphoreWeightError);
    expect(error).toMatchObject({ weight: 4, capacity: 3 });
    await expect(sem.tryAcquire(4)).rejects.toBeInstanceOf(SemaphoreWeightError);
    await expect(sem.acquire(0)).rejects.toBeInstanceOf(SemaphoreWeightError);
    await expect(sem.acquire(1.5)).rejects.toBeInstanceOf(SemaphoreWeightError);
    // At once: before any call (counted, not timed: a loaded machine can stall a quick answer).
    expect(counter.total()).toBe(0);
    expect(await readItem(name)).toBeUndefined();
    counted.destroy();
  });

  it('reclaims the weight of a holder whose time ran out; the holder learns it lost it', async () => {
    const name = `reclaim-${uniqueSuffix()}`;
    // A "Lambda" with 600 ms left holds all of it: its lease cannot outlive that.
    const deadline = Date.now() + 600;
    const doomed = await semaphore(name, 2, { leaseMs: 5000, remainingTimeMs: () => deadline - Date.now() }).acquire(2);

    const startedAt = Date.now();
    const next = await semaphore(name, 2, { leaseMs: 5000 }).acquire(2, { signal: AbortSignal.timeout(5000) });
    const waitedMs = Date.now() - startedAt;

    expect(waitedMs).toBeGreaterThanOrEqual(500);
    expect(waitedMs).toBeLessThan(3000);
    expect(doomed.signal.aborted).toBe(true);
    expect(doomed.signal.reason).toBeInstanceOf(LockLostError);
    expect(doomed.weight).toBe(0);
    await expect(doomed.release()).rejects.toBeInstanceOf(LockNotHeldError);
    const item = await readItem(name);
    expect(Object.keys(item?.holders?.M ?? {})).toEqual([next.owner]);
    expect(item?.used?.N).toBe('2');
    await next.release();
  });

  it('refuses a participant whose capacity differs from the stored one', async () => {
    const name = `mismatch-${uniqueSuffix()}`;
    const held = await semaphore(name, 3).acquire(1);

    const error = await semaphore(name, 4)
      .tryAcquire(1)
      .catch((err: unknown) => err);

    expect(error).toBeInstanceOf(SemaphoreCapacityError);
    expect(error).toBeInstanceOf(MeshConfigError);
    expect(error).toMatchObject({ capacity: 4, storedCapacity: 3 });
    await expect(semaphore(name, 2).acquire(1)).rejects.toBeInstanceOf(SemaphoreCapacityError);
    await held.release();
  });

  it('does not starve a large acquirer behind a stream of small ones', async () => {
    const name = `large-${uniqueSuffix()}`;
    let stop = false;
    const small = async (id: number) => {
      const sem = semaphore(name, 4, { owner: `small${id}` });
      while (!stop) {
        const held = await sem.acquire(1, { signal: AbortSignal.timeout(30_000) });
        await pause(60 + Math.random() * 40); // small holders overlap: it is never all free
        await held.release();
      }
    };
    const streams = Array.from({ length: 3 }, (_, id) => small(id));
    await pause(300);

    const startedAt = Date.now();
    const large = await semaphore(name, 4, { owner: 'large' }).acquire(4, { signal: AbortSignal.timeout(10_000) });
    const waitedMs = Date.now() - startedAt;
    const item = await readItem(name);
    await large.release();
    stop = true;
    await Promise.all(streams);

    expect(waitedMs).toBeLessThan(3000);
    expect(Object.keys(item?.holders?.M ?? {})).toEqual([large.owner]);
  });

  it('releases what is left at the end of an `await using` scope, and keeps it past the lease while heartbeating', async () => {
    const name = `scoped-${uniqueSuffix()}`;
    // Held 1.5 leases. A lease of 2 s, not less: on a loaded machine a renewal and its SDK retry
    // can take longer than a shorter lease's last third, and the holder rightly learns it lost it.
    {
      await using held = await semaphore(name, 2, { leaseMs: 2000 }).acquire(2);
      await pause(3000);
      expect(held.signal.aborted).toBe(false);
      expect(await semaphore(name, 2).tryAcquire(1)).toBeUndefined();
    }

    const after = await semaphore(name, 2).tryAcquire(2);
    expect(after).toBeDefined();
    await after!.release();
  });
});

describe("Semaphore starvation mode ('fifo')", () => {
  const fifo = (name: string, capacity: number, options: Partial<ConstructorParameters<typeof Semaphore>[0]> = {}) =>
    semaphore(name, capacity, { fairness: 'fifo', ...options });
  const ticketsOn = async (name: string) => queuedTokens(await readItem(name));

  it('grants queued waiters in the order they asked: a small one does not overtake larger ones ahead of it, nor does a newcomer', async () => {
    const name = `fifo-${uniqueSuffix()}`;
    const holder = await fifo(name, 2).acquire(2);
    const granted: string[] = [];
    const queue = async (owner: string, weight: number, queued: number) => {
      const acquiring = fifo(name, 2, { owner, starvationMs: 0 })
        .acquire(weight)
        .then((held) => (granted.push(owner), held));
      await until(async () => (await ticketsOn(name)).length === queued);
      return { acquiring }; // wrapped: an async function would wait for it
    };
    const { acquiring: first } = await queue('first', 2, 1);
    const { acquiring: second } = await queue('second', 2, 2);
    const { acquiring: small } = await queue('small', 1, 3);
    expect((await ticketsOn(name)).map((token) => token.split('/')[0])).toEqual(['first', 'second', 'small']);

    await holder.release(1);
    // Room for 1, and the small waiter would fit: it stays behind the larger ones, and a newcomer too.
    expect(await fifo(name, 2).tryAcquire(1)).toBeUndefined();
    await pause(300);
    expect(granted).toEqual([]);
    await holder.release();
    await (await first).release();
    await (await second).release();
    await (await small).release();
    expect(granted).toEqual(['first', 'second', 'small']);
    // The last grant closed the queue: no ticket, no gate; a newcomer takes all of it at once.
    const item = await readItem(name);
    expect(ticketsOf(item)).toEqual([]);
    expect(item?.[QUEUE_UNTIL]).toBeUndefined();
    const next = await fifo(name, 2).tryAcquire(2);
    expect(next).toBeDefined();
    await next!.release();
  });

  it('skips the ticket of a waiter that died once its ticket lease ends, and sweeps it', async () => {
    const name = `dead-waiter-${uniqueSuffix()}`;
    await (await fifo(name, 2).acquire(1)).release(); // the item exists, free
    const deadUntil = Date.now() + 600;
    await writeQueuedTicket(
      dynamodb,
      { tableName, key: keys.semaphore(name) },
      { queuedAt: Date.now() - 1000, token: 'dead/1', until: deadUntil },
    );
    expect(await fifo(name, 2).tryAcquire(1)).toBeUndefined(); // the gate holds newcomers back meanwhile

    const held = await fifo(name, 2).acquire(2, { signal: AbortSignal.timeout(10_000) });

    expect(Date.now()).toBeGreaterThanOrEqual(deadUntil + 100); // its lease plus the skew bound (100 ms here)
    const item = await readItem(name);
    expect(ticketsOf(item)).toEqual([]);
    expect(item?.[QUEUE_UNTIL]).toBeUndefined();
    await held.release();
  });

  it("withdraws an aborted waiter's ticket and the gate it leaves", async () => {
    const name = `withdraw-${uniqueSuffix()}`;
    const holder = await fifo(name, 1).acquire(1);
    const waiting = fifo(name, 1, { starvationMs: 0 }).acquire(1, { signal: AbortSignal.timeout(400) });
    await until(async () => (await ticketsOn(name)).length === 1);
    await expect(waiting).rejects.toBeInstanceOf(MeshAbortError);
    const item = await readItem(name);
    expect(ticketsOf(item)).toEqual([]);
    expect(item?.[QUEUE_UNTIL]).toBeUndefined();
    await holder.release();
    const next = await fifo(name, 1).tryAcquire(1); // no gate left behind
    expect(next).toBeDefined();
    await next!.release();
  });

  it('lets a polling Semaphore past the queue, and not a fifo one', async () => {
    const name = `barge-${uniqueSuffix()}`;
    await (await fifo(name, 2).acquire(1)).release();
    await writeQueuedTicket(
      dynamodb,
      { tableName, key: keys.semaphore(name) },
      { queuedAt: Date.now(), token: 'waiter/1', until: Date.now() + 60_000 },
    );
    expect(await fifo(name, 2).tryAcquire(1)).toBeUndefined();
    const barger = await semaphore(name, 2, { fairness: 'polling' }).tryAcquire(1);
    expect(barger).toBeDefined();
    await barger!.release();
  });

  it('wakes a waiter of its own process at each release, once the release is applied', async () => {
    const name = `wakes-${uniqueSuffix()}`;
    // A queued waiter of this process, asleep on the semaphore's item for far longer than the test.
    const waiter = LocalWakeups.forItem(tableName, keys.semaphore(name));
    const ticket = ticketAttribute(Date.now(), 'waiter/1');
    waiter.queued(ticket);
    const sem = semaphore(name, 2, { fairness: 'fifo' });
    const held = await sem.acquire(2);
    let woken = 0;
    const sleepOnce = () => waiter.sleep(ticket, 60_000, undefined).then(() => woken++);
    let sleeping = sleepOnce();
    await pause(50);
    expect(woken).toBe(0);
    await held.release(1); // a partial release makes room too
    await sleeping;
    expect(woken).toBe(1);
    sleeping = sleepOnce();
    await held.release();
    await sleeping;
    expect(woken).toBe(2);
    waiter.left(ticket, false);
  });

  it('costs 2 calls for an uncontended acquire and release, as in polling mode', async () => {
    const name = `calls-${uniqueSuffix()}`;
    await (await fifo(name, 2).acquire(1)).release(); // the item exists (its first use takes one more)
    const counter = new CallCounter();
    const counted = countedClients(counter).dynamodb;
    const sem = new Semaphore({ client: counted, tableName, name, capacity: 2, fairness: 'fifo', clockSkewMs: 100 });

    await (await sem.acquire(2)).release();

    expect(counter.total('DynamoDB')).toBe(2);
    counted.destroy();
  });
});
