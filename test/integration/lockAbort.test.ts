/**
 * A lock, read lock, permit or Once claim whose caller gives up at the worst moment: the granting
 * write has reached the server and been applied, and its answer is still on the way (held at a
 * proxy) when the caller's signal aborts. The grant was made; the caller must get it (and can
 * release it), never leave it held by no one until its lease runs out. Go's
 * `semaphore.Acquire(ctx)` does the same: acquired after the cancellation, it reports success.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localConfig } from '../../infra/localstack/clients.ts';
import { createMeshTable, deleteMeshTable, dynamodb, uniqueSuffix } from '../../infra/localstack/resources.ts';
import { MeshAbortError } from '../../lib/errors.ts';
import { Mutex } from '../../lib/sync/Mutex.ts';
import { Once } from '../../lib/sync/Once.ts';
import { RWMutex } from '../../lib/sync/RWMutex.ts';
import { Semaphore } from '../../lib/sync/Semaphore.ts';
import { type BlackholeProxy, blackholeProxy } from '../helpers/blackholeProxy.ts';

let tableName: string;
let proxy: BlackholeProxy;
let slowClient: DynamoDBClient;

beforeAll(async () => {
  tableName = await createMeshTable('lock-abort');
  proxy = await blackholeProxy(new URL(localConfig.endpoint));
  slowClient = new DynamoDBClient({ ...localConfig, endpoint: proxy.endpoint, maxAttempts: 1 });
});

afterAll(async () => {
  slowClient.destroy();
  await proxy.close();
  await deleteMeshTable(tableName);
});

/** Runs `take` with a signal that aborts while the answer to its first write is held back; then lets the answer through. */
async function abortWhileAnswered<T>(take: (signal: AbortSignal) => Promise<T>): Promise<PromiseSettledResult<T>> {
  const controller = new AbortController();
  const answered = proxy.holdAnswers();
  const taking = take(controller.signal);
  await answered; // applied on the server; its answer waits at the proxy
  controller.abort();
  await new Promise((resolve) => setTimeout(resolve, 50));
  proxy.release();
  const [outcome] = await Promise.allSettled([taking]);
  return outcome!;
}

describe('a lock whose signal aborts while its grant is answered', () => {
  for (const fairness of ['polling', 'fifo'] as const) {
    it(`Mutex (${fairness}): lock() returns the lock it was granted; unlocked, the next caller gets it at once`, async () => {
      const name = `abort-${uniqueSuffix()}`;
      const mutex = new Mutex({ client: slowClient, tableName, name, fairness });

      const outcome = await abortWhileAnswered((signal) => mutex.lock({ signal }));

      expect(outcome.status).toBe('fulfilled');
      if (outcome.status === 'fulfilled') await outcome.value.unlock();
      const next = await new Mutex({ client: dynamodb, tableName, name }).tryLock();
      expect(next).toBeDefined();
      await next?.unlock();
    });
  }

  it('RWMutex: lock() and rLock() return what they were granted', async () => {
    const name = `abort-rw-${uniqueSuffix()}`;
    for (const take of ['lock', 'rLock'] as const) {
      const rw = new RWMutex({ client: slowClient, tableName, name });

      const outcome = await abortWhileAnswered((signal) => rw[take]({ signal }));

      expect(outcome.status).toBe('fulfilled');
      if (outcome.status === 'fulfilled') await outcome.value.unlock();
    }
    const next = await new RWMutex({ client: dynamodb, tableName, name }).tryLock();
    expect(next).toBeDefined();
    await next?.unlock();
  });

  it('Semaphore: acquire() returns the permits it was granted', async () => {
    const name = `abort-sem-${uniqueSuffix()}`;
    const semaphore = new Semaphore({ client: slowClient, tableName, name, capacity: 2 });

    const outcome = await abortWhileAnswered((signal) => semaphore.acquire(2, { signal }));

    expect(outcome.status).toBe('fulfilled');
    if (outcome.status === 'fulfilled') await outcome.value.release();
    const next = await new Semaphore({ client: dynamodb, tableName, name, capacity: 2 }).tryAcquire(2);
    expect(next).toBeDefined();
    await next?.release();
  });

  it('Once: do() runs the function whose claim it was granted, and the key is done for every later caller', async () => {
    const key = `abort-once-${uniqueSuffix()}`;
    const once = new Once({ client: slowClient, tableName });

    const outcome = await abortWhileAnswered((signal) => once.do(key, async () => 42, { signal }));

    expect(outcome).toEqual({ status: 'fulfilled', value: 42 });
    const later = await new Once({ client: dynamodb, tableName }).do(key, async () => 7, { signal: AbortSignal.timeout(2_000) });
    expect(later).toBe(42);
  });

  it('Mutex: tryLock() with a signal aborted before it is called takes nothing', async () => {
    const name = `abort-try-${uniqueSuffix()}`;

    await expect(new Mutex({ client: dynamodb, tableName, name }).tryLock({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      MeshAbortError,
    );

    const next = await new Mutex({ client: dynamodb, tableName, name }).tryLock();
    expect(next).toBeDefined();
    await next?.unlock();
  });
});
