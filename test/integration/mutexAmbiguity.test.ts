/**
 * Ambiguous outcomes: the server applies a lock step but the client sees an error, and the SDK
 * retries. The only mock here is the lost answer: a middleware next to the transport that lets
 * the real request through to LocalStack and then throws a connection reset instead of
 * returning its response (what no real component can show on demand).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mutex } from '../../lib/sync/Mutex.ts';
import { RWMutex } from '../../lib/sync/RWMutex.ts';
import { localConfig } from '../../infra/localstack/clients.ts';
import { createMeshTable, deleteMeshTable, dynamodb, uniqueSuffix } from '../../infra/localstack/resources.ts';

let tableName: string;

beforeAll(async () => {
  tableName = await createMeshTable('ambiguous');
});

afterAll(async () => {
  await deleteMeshTable(tableName);
});

/**
 * A client that loses the answer of the first UpdateItem whose expression matches `pattern`;
 * `meanwhile` runs after the write is applied and before the SDK's retry.
 */
function clientLosingFirstAnswer(pattern: RegExp, meanwhile?: () => Promise<void>): { client: DynamoDBClient; lost: () => number } {
  const client = new DynamoDBClient({ ...localConfig, maxAttempts: 3 });
  let lost = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = (args as { input?: { UpdateExpression?: string } }).input;
      if (context.commandName === 'UpdateItemCommand' && lost === 0 && pattern.test(input?.UpdateExpression ?? '')) {
        lost++;
        await meanwhile?.();
        throw Object.assign(new Error('socket hang up (answer lost after the write was applied)'), { code: 'ECONNRESET', $metadata: {} });
      }
      return result;
    },
    { step: 'deserialize', name: 'loseFirstAnswer', override: true },
  );
  return { client, lost: () => lost };
}

const plain = (name: string) => new Mutex({ client: dynamodb, tableName, name, clockSkewMs: 100 });

describe('Mutex under ambiguous outcomes', () => {
  it.each(['polling', 'fifo'] as const)(
    'an acquire applied by the server whose answer was lost is not mistaken for someone else holding it (%s)',
    async (fairness) => {
      const name = `acquire-${uniqueSuffix()}`;
      const { client, lost } = clientLosingFirstAnswer(/ADD #f :one/);
      const startedAt = Date.now();

      const held = await new Mutex({ client, tableName, name, leaseMs: 10_000, fairness }).lock({ signal: AbortSignal.timeout(5000) });

      expect(lost()).toBe(1);
      expect(Date.now() - startedAt).toBeLessThan(2000); // not a wait for its own 10 s lease
      expect(await plain(name).tryLock()).toBeUndefined();
      await held.unlock();
      expect(await plain(name).tryLock()).toBeDefined();
    },
  );

  it('a queued grant (starvation mode) applied by the server whose answer was lost holds the lock', async () => {
    const name = `queued-${uniqueSuffix()}`;
    const holder = await new Mutex({ client: dynamodb, tableName, name, fairness: 'fifo' }).lock();
    const { client, lost } = clientLosingFirstAnswer(/ADD #f :one REMOVE/);
    const waiting = new Mutex({ client, tableName, name, fairness: 'fifo', starvationMs: 0, clockSkewMs: 100 }).lock({
      signal: AbortSignal.timeout(5000),
    });
    await new Promise((resolve) => setTimeout(resolve, 300)); // it queues
    await holder.unlock();

    const held = await waiting;

    expect(lost()).toBe(1);
    expect(held.fence).toBeGreaterThan(holder.fence);
    expect(await new Mutex({ client: dynamodb, tableName, name, fairness: 'polling' }).tryLock()).toBeUndefined();
    await held.unlock();
    expect(await new Mutex({ client: dynamodb, tableName, name, fairness: 'fifo' }).tryLock()).toBeDefined();
  });

  it('an unlock applied by the server whose answer was lost succeeds and frees the lock', async () => {
    const name = `unlock-${uniqueSuffix()}`;
    const { client, lost } = clientLosingFirstAnswer(/^REMOVE #o, #l /);
    const held = await new Mutex({ client, tableName, name }).lock();

    await held.unlock();

    expect(lost()).toBe(1);
    const next = await plain(name).tryLock();
    expect(next?.fence).toBe(held.fence + 1);
  });

  it('an unlock whose answer was lost succeeds though another contender locked and unlocked before the retry', async () => {
    const name = `unlock-taken-${uniqueSuffix()}`;
    let between: number | undefined;
    const { client, lost } = clientLosingFirstAnswer(/^REMOVE #o, #l /, async () => {
      const other = await plain(name).lock({ signal: AbortSignal.timeout(5000) });
      between = other.fence;
      await other.unlock();
    });
    const held = await new Mutex({ client, tableName, name }).lock();

    await held.unlock(); // the retry is refused (releasedBy is the other's now): still our release

    expect(lost()).toBe(1);
    expect(between).toBe(held.fence + 1);
    expect((await plain(name).tryLock())?.fence).toBe(held.fence + 2);
  });

  it('an RWMutex write unlock whose answer was lost succeeds though another writer locked and unlocked before the retry', async () => {
    const name = `rw-unlock-taken-${uniqueSuffix()}`;
    const { client, lost } = clientLosingFirstAnswer(/^REMOVE #writer, #writerUntil /, async () => {
      const other = await new RWMutex({ client: dynamodb, tableName, name }).lock({ signal: AbortSignal.timeout(5000) });
      await other.unlock();
    });
    const held = await new RWMutex({ client, tableName, name }).lock();

    await held.unlock();

    expect(lost()).toBe(1);
    expect(await new RWMutex({ client: dynamodb, tableName, name }).tryLock()).toBeDefined();
  });

  it('a heartbeat applied by the server whose answer was lost keeps the lock', async () => {
    const name = `heartbeat-${uniqueSuffix()}`;
    const { client, lost } = clientLosingFirstAnswer(/^SET #l = :u$/);
    // A lease of 2 s, held for 1.5 leases: the lost renewal's retry, and the renewals after it, must
    // all land in time. (With 600 ms, a renewal slowed by a loaded machine missed the lease.)
    const held = await new Mutex({ client, tableName, name, leaseMs: 2000, clockSkewMs: 100 }).lock();

    await new Promise((resolve) => setTimeout(resolve, 3000));

    expect(lost()).toBe(1);
    expect(held.signal.aborted).toBe(false);
    expect(await plain(name).tryLock()).toBeUndefined();
    await held.unlock();
  });
});
