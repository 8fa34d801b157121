/**
 * Mutex and fenced writes against LocalStack's DynamoDB (moto), with contenders in several
 * processes.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../infra/localstack/localstack.ts';
import { LockLostError, LockNotHeldError, MeshAbortError, StaleFenceError } from '../../lib/errors.ts';
import { fencedUpdate } from '../../lib/sync/fenced.ts';
import { Mutex } from '../../lib/sync/Mutex.ts';
import { exampleKeys } from '../../lib/table/layout.ts';
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
  it('never lets contenders in 4 processes overlap; fences strictly increase; no update is lost', async () => {
    const lockName = `counter-${uniqueSuffix()}`;
    const processes = 4;
    const rounds = 8;

    const rows = (
      await Promise.all(
        Array.from({ length: processes }, (_, i) => outputLines(contender({ mode: 'count', lockName, rounds, id: `p${i}` }))),
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
  });

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
    const held = await mutex(lockName, { leaseMs: 600 }).lock();

    await new Promise((resolve) => setTimeout(resolve, 1500));

    expect(held.signal.aborted).toBe(false);
    expect(await mutex(lockName, { leaseMs: 600 }).tryLock()).toBeUndefined();
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
