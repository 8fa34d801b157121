/**
 * Mutex and fenced writes against LocalStack's DynamoDB (moto), with contenders in several
 * processes.
 */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../infra/localstack/localstack.ts';
import { LockLostError, LockNotHeldError, MeshAbortError, StaleFenceError } from '../../lib/errors.ts';
import { fencedUpdate } from '../../lib/sync/fenced.ts';
import { Mutex } from '../../lib/sync/Mutex.ts';
import { QUEUE_UNTIL, ticketsOf } from '../../lib/sync/mutexQueue.ts';
import { queuedTokens, until, writeQueuedTicket } from '../helpers/lockQueue.ts';
import { CallCounter } from '../../lib/faults/callCounter.ts';
import { exampleKeys, keys } from '../../lib/table/layout.ts';
import { countedClients } from '../../infra/localstack/clients.ts';
import { createMeshTable, deleteMeshTable, dynamodb, uniqueSuffix } from '../../infra/localstack/resources.ts';

let tableName: string;

beforeAll(async () => {
  tableName = await createMeshTable('mutex');
});

afterAll(async () => {
  await deleteMeshTable(tableName);
});

const mutex = (name: string, options: Partial<ConstructorParameters<typeof Mutex>[0]> = {}) =>
  new Mutex({ client: dynamodb, tableName, name, clockSkewMs: 100, ...options });

function contender(args: Record<string, unknown>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'test/helpers/lockContender.ts', JSON.stringify({ tableName, ...args })], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

async function outputLines(child: ChildProcess): Promise<any[]> {
  const lines: any[] = [];
  for await (const line of createInterface({ input: child.stdout! })) lines.push(JSON.parse(line));
  const code = await new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', resolve)));
  if (code !== 0) throw new Error(`contender exited with ${code}`);
  return lines;
}

async function firstLine(child: ChildProcess): Promise<any> {
  for await (const line of createInterface({ input: child.stdout! })) return JSON.parse(line);
  throw new Error('contender printed nothing');
}

describe('Mutex', () => {
  it.each(['polling', 'fifo'])(
    'never lets contenders in 4 processes overlap; fences strictly increase; no update is lost (%s)',
    async (fairness) => {
      const lockName = `counter-${uniqueSuffix()}`;
      const processes = 4;
      const rounds = 8;

      const rows = (
        await Promise.all(
          Array.from({ length: processes }, (_, i) => outputLines(contender({ mode: 'count', lockName, rounds, id: `p${i}`, fairness }))),
        )
      ).flat();

      expect(rows).toHaveLength(processes * rounds);
      const byAcquisition = [...rows].sort((a, b) => a.fence - b.fence);
      for (let i = 1; i < byAcquisition.length; i++) {
        const [before, after] = [byAcquisition[i - 1], byAcquisition[i]];
        expect(after.fence).toBeGreaterThan(before.fence);
        expect(after.acquiredAt).toBeGreaterThanOrEqual(before.releasedAt); // no overlap
        expect(after.read).toBe(before.read + 1); // each holder saw the previous one's write
      }
      const { Item } = await dynamodb.send(
        new GetItemCommand({ TableName: tableName, Key: exampleKeys.counter(lockName), ConsistentRead: true }),
      );
      expect(Item?.value?.N).toBe(String(processes * rounds));
    },
  );

  it('is taken over once a holder that died stops heartbeating, with a larger fence', async () => {
    const lockName = `crash-${uniqueSuffix()}`;
    const holder = contender({ mode: 'hold', lockName, id: 'doomed', leaseMs: 1500 });
    const { fence: deadFence } = await firstLine(holder);
    holder.kill('SIGKILL');

    const startedAt = Date.now();
    const held = await mutex(lockName, { leaseMs: 1500 }).lock({ signal: AbortSignal.timeout(10_000) });
    const waitedMs = Date.now() - startedAt;

    expect(held.fence).toBeGreaterThan(deadFence);
    expect(waitedMs).toBeLessThan(1500 + 100 + 1500); // about one lease plus the skew bound
    await held.unlock();
  });

  it("keeps a holder's lease within its remaining time, then refuses the paused holder's stale write", async () => {
    const lockName = `paused-${uniqueSuffix()}`;
    const protectedKey = { pk: { S: `doc#${lockName}` }, sk: { S: 'doc' } };
    const write = (fence: number, text: string) =>
      fencedUpdate(
        dynamodb,
        {
          TableName: tableName,
          Key: protectedKey,
          UpdateExpression: 'SET #text = :text',
          ExpressionAttributeNames: { '#text': 'text' },
          ExpressionAttributeValues: { ':text': { S: text } },
        },
        fence,
      );
    // A "Lambda" with 600 ms left: its lease cannot outlive that, whatever it asks for.
    const deadline = Date.now() + 600;
    const paused = await mutex(lockName, { leaseMs: 5000, remainingTimeMs: () => deadline - Date.now() }).lock();
    await write(paused.fence, 'first holder');

    const next = await mutex(lockName, { leaseMs: 5000 }).lock({ signal: AbortSignal.timeout(5000) });
    await write(next.fence, 'second holder');

    // The first holder wakes up and writes with its old fence: refused by the item itself.
    await expect(write(paused.fence, 'stale')).rejects.toBeInstanceOf(StaleFenceError);
    expect(paused.signal.aborted).toBe(true);
    expect(paused.signal.reason).toBeInstanceOf(LockLostError);
    await expect(paused.unlock()).rejects.toBeInstanceOf(LockNotHeldError);
    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: protectedKey, ConsistentRead: true }));
    expect(Item?.text?.S).toBe('second holder');
    await next.unlock();
  });

  it('refuses unlock by an owner that does not hold the lock, and a second unlock', async () => {
    const lockName = `owner-${uniqueSuffix()}`;
    const holder = mutex(lockName);
    const stranger = mutex(lockName);
    const held = await holder.lock();

    await expect(stranger.unlock()).rejects.toBeInstanceOf(LockNotHeldError);
    await held.unlock();
    await expect(held.unlock()).rejects.toBeInstanceOf(LockNotHeldError);
    await expect(holder.unlock()).rejects.toBeInstanceOf(LockNotHeldError);
  });

  it('tryLock reports a held lock as taken; lock waits and gives up when its signal aborts', async () => {
    const lockName = `busy-${uniqueSuffix()}`;
    const held = await mutex(lockName).lock();

    expect(await mutex(lockName).tryLock()).toBeUndefined();
    await expect(mutex(lockName).lock({ signal: AbortSignal.timeout(300) })).rejects.toBeInstanceOf(MeshAbortError);
    await held.unlock();
    const again = await mutex(lockName).tryLock();
    expect(again?.fence).toBe(held.fence + 1);
    await again!.unlock();
  });

  it('releases at the end of an `await using` scope', async () => {
    const lockName = `scoped-${uniqueSuffix()}`;
    const m = mutex(lockName);
    {
      await using held = await m.lock();
      expect(held.fence).toBe(1);
      expect(await mutex(lockName).tryLock()).toBeUndefined();
    }

    const after = await mutex(lockName).tryLock();
    expect(after).toBeDefined();
    await after!.unlock();
  });

  it('keeps the lock past its lease while the holder heartbeats', async () => {
    const lockName = `heartbeat-${uniqueSuffix()}`;
    // Held 1.5 leases. A lease of 2 s, not less: on a loaded machine a renewal and its SDK retry
    // can take longer than a shorter lease's last third, and the holder rightly learns it lost it.
    const held = await mutex(lockName, { leaseMs: 2000 }).lock();

    await new Promise((resolve) => setTimeout(resolve, 3000));

    expect(held.signal.aborted).toBe(false);
    expect(await mutex(lockName, { leaseMs: 2000 }).tryLock()).toBeUndefined();
    await held.unlock();
  });
});

describe('Mutex and the clock', () => {
  it('gives the lock up locally when its clock jumps past the lease (the signal says so)', async () => {
    const lockName = `clock-${uniqueSuffix()}`;
    let offset = 0;
    const held = await mutex(lockName, { leaseMs: 900, now: () => Date.now() + offset }).lock();

    offset = 10_000; // the holder's clock jumps 10 s ahead: by its own account the lease is over
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(held.signal.aborted).toBe(true);
    expect(held.signal.reason).toBeInstanceOf(LockLostError);
  });
});

describe("Mutex starvation mode ('fifo')", () => {
  const lockItem = async (lockName: string) =>
    (await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: keys.mutex(lockName), ConsistentRead: true }))).Item ?? {};
  const ticketsOn = async (lockName: string) => queuedTokens(await lockItem(lockName));

  it('grants queued waiters in the order they asked, and keeps a newcomer behind them even when the lock is free', async () => {
    const lockName = `fifo-${uniqueSuffix()}`;
    const holder = await mutex(lockName, { fairness: 'fifo' }).lock();
    const first = mutex(lockName, { fairness: 'fifo', owner: 'first', starvationMs: 0 });
    const second = mutex(lockName, { fairness: 'fifo', owner: 'second', starvationMs: 0 });
    const granted: string[] = [];
    const firstLock = first.lock().then((held) => (granted.push('first'), held));
    await until(async () => (await ticketsOn(lockName)).length === 1);
    const secondLock = second.lock().then((held) => (granted.push('second'), held));
    await until(async () => (await ticketsOn(lockName)).length === 2);
    expect((await ticketsOn(lockName)).map((token) => token.split('/')[0])).toEqual(['first', 'second']);

    await holder.unlock();
    // Free, but two waiters queue: a newcomer's single attempt is refused (a polling one barges).
    expect(await mutex(lockName, { fairness: 'fifo' }).tryLock()).toBeUndefined();
    const firstHeld = await firstLock;
    expect(granted).toEqual(['first']);
    await firstHeld.unlock();
    const secondHeld = await secondLock;
    expect(granted).toEqual(['first', 'second']);
    expect(firstHeld.fence).toBeGreaterThan(holder.fence);
    expect(secondHeld.fence).toBeGreaterThan(firstHeld.fence);
    await secondHeld.unlock();
    // The last grant closed the queue: no ticket, no gate; a newcomer takes the lock at once.
    const item = await lockItem(lockName);
    expect(ticketsOf(item)).toEqual([]);
    expect(item[QUEUE_UNTIL]).toBeUndefined();
    const next = await mutex(lockName, { fairness: 'fifo' }).tryLock();
    expect(next?.fence).toBe(secondHeld.fence + 1);
    await next!.unlock();
  });

  it('skips the ticket of a waiter that died once its ticket lease ends, and sweeps it', async () => {
    const lockName = `dead-waiter-${uniqueSuffix()}`;
    // A waiter that queued and died (the item as it left it: its ticket and the gate, 600 ms lease).
    const deadUntil = Date.now() + 600;
    await writeQueuedTicket(
      dynamodb,
      { tableName, key: keys.mutex(lockName) },
      { queuedAt: Date.now() - 1000, token: 'dead/1', until: deadUntil, withVersion: true },
    );
    expect(await mutex(lockName, { fairness: 'fifo' }).tryLock()).toBeUndefined(); // the gate holds newcomers back meanwhile

    const held = await mutex(lockName, { fairness: 'fifo' }).lock({ signal: AbortSignal.timeout(10_000) });

    expect(Date.now()).toBeGreaterThanOrEqual(deadUntil + 100); // its lease plus the skew bound (100 ms here)
    const item = await lockItem(lockName);
    expect(ticketsOf(item)).toEqual([]);
    expect(item[QUEUE_UNTIL]).toBeUndefined();
    await held.unlock();
  });

  it("withdraws an aborted waiter's ticket and the gate it leaves", async () => {
    const lockName = `withdraw-${uniqueSuffix()}`;
    const holder = await mutex(lockName, { fairness: 'fifo' }).lock();
    const waiting = mutex(lockName, { fairness: 'fifo', starvationMs: 0 }).lock({ signal: AbortSignal.timeout(400) });
    await until(async () => (await ticketsOn(lockName)).length === 1);
    await expect(waiting).rejects.toBeInstanceOf(MeshAbortError);
    const item = await lockItem(lockName);
    expect(ticketsOf(item)).toEqual([]);
    expect(item[QUEUE_UNTIL]).toBeUndefined();
    await holder.unlock();
    expect((await mutex(lockName, { fairness: 'fifo' }).tryLock())?.fence).toBe(holder.fence + 1); // no gate left behind
  });

  it('a waiter queued behind a holder of its own process sleeps until the unlock wakes it: no looks while held, one grant after', async () => {
    const lockName = `woken-${uniqueSuffix()}`;
    const holder = await mutex(lockName, { fairness: 'fifo' }).lock();
    const counter = new CallCounter();
    const counted = countedClients(counter).dynamodb;
    const waiter = new Mutex({ client: counted, tableName, name: lockName, fairness: 'fifo', starvationMs: 0, clockSkewMs: 100 });
    const waiting = waiter.lock({ signal: AbortSignal.timeout(20_000) });
    await until(async () => (await ticketsOn(lockName)).length === 1);
    const looksBefore = counter.total('DynamoDB');
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // a clock-paced head would look every 4-250 ms
    expect(counter.total('DynamoDB')).toBe(looksBefore);

    await holder.unlock();
    const held = await waiting;
    expect(counter.total('DynamoDB')).toBe(looksBefore + 1); // the grant, at once
    expect(held.fence).toBe(holder.fence + 1);
    await held.unlock();
    counted.destroy();
  });

  it('a waiter queued behind a holder of another process keeps looking, and takes the lock once it is released', async () => {
    const lockName = `remote-${uniqueSuffix()}`;
    // The holder of another process, as its grant left the item (no wake-up can come from it).
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: keys.mutex(lockName),
        UpdateExpression: 'SET #o = :o, #l = :l, #f = :f, #v = :v',
        ExpressionAttributeNames: { '#o': 'owner', '#l': 'leaseUntil', '#f': 'fence', '#v': 'v' },
        ExpressionAttributeValues: {
          ':o': { S: 'elsewhere/1' },
          ':l': { N: String(Date.now() + 60_000) },
          ':f': { N: '7' },
          ':v': { N: '1' },
        },
      }),
    );
    const counter = new CallCounter();
    const counted = countedClients(counter).dynamodb;
    // A ticket lease of a minute: a waiter that slept until its renewal would give up first.
    const waiter = new Mutex({
      client: counted,
      tableName,
      name: lockName,
      fairness: 'fifo',
      starvationMs: 0,
      clockSkewMs: 100,
      ticketLeaseMs: 60_000,
    });
    const waiting = waiter.lock({ signal: AbortSignal.timeout(10_000) });
    await until(async () => (await ticketsOn(lockName)).length === 1);
    await new Promise((resolve) => setTimeout(resolve, 800));
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: keys.mutex(lockName),
        UpdateExpression: 'REMOVE #o, #l',
        ExpressionAttributeNames: { '#o': 'owner', '#l': 'leaseUntil' },
      }),
    );
    const held = await waiting;
    expect(held.fence).toBe(8);
    expect(counter.total('DynamoDB')).toBeGreaterThan(3); // its ticket, its looks while held, its grant
    await held.unlock();
    counted.destroy();
  });

  it('costs 2 calls for an uncontended lock and unlock, as in polling mode', async () => {
    const counter = new CallCounter();
    const counted = countedClients(counter).dynamodb;
    const fair = new Mutex({ client: counted, tableName, name: `calls-${uniqueSuffix()}`, fairness: 'fifo', clockSkewMs: 100 });

    await (await fair.lock()).unlock();

    expect(counter.total('DynamoDB')).toBe(2);
    counted.destroy();
  });

  it('lets a polling Mutex barge past the queue, and not a fifo one', async () => {
    const lockName = `barge-${uniqueSuffix()}`;
    // A live waiter's ticket (and the gate) on a free lock, as a queued waiter writes them.
    const ticketUntil = Date.now() + 60_000;
    await writeQueuedTicket(
      dynamodb,
      { tableName, key: keys.mutex(lockName) },
      { queuedAt: Date.now(), token: 'waiter/1', until: ticketUntil, withVersion: true },
    );
    expect(await mutex(lockName, { fairness: 'fifo' }).tryLock()).toBeUndefined();
    const barger = await mutex(lockName, { fairness: 'polling' }).tryLock();
    expect(barger?.fence).toBe(1);
    await barger!.unlock();
  });
});
