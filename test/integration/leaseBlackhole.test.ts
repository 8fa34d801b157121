/**
 * A lease holder cut off from the network by a black hole (a proxy that goes silent: no error, no
 * reset) stops believing it holds by its lease's end: `signal` aborts then, for every lease kind,
 * although its renewal never comes back. Without a deadline, the renewal would wait for the SDK's
 * socket timeout (minutes) and the holder would keep working past its lease.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LockLostError, OnceFailedError } from '../../lib/errors.ts';
import { Mutex } from '../../lib/sync/Mutex.ts';
import { Once } from '../../lib/sync/Once.ts';
import { RWMutex } from '../../lib/sync/RWMutex.ts';
import { Semaphore } from '../../lib/sync/Semaphore.ts';
import { localConfig } from '../../infra/localstack/clients.ts';
import { createMeshTable, deleteMeshTable, uniqueSuffix } from '../../infra/localstack/resources.ts';
import { type BlackholeProxy, blackholeProxy } from '../helpers/blackholeProxy.ts';

const lease = { leaseMs: 1500, heartbeatMs: 500, clockSkewMs: 200 };
/** Timer slack: the abort may come this much after the lease's end on a loaded machine. */
const SLACK_MS = 250;

let tableName: string;
let proxy: BlackholeProxy;
let client: DynamoDBClient;

beforeAll(async () => {
  tableName = await createMeshTable('blackhole');
});
afterAll(async () => {
  await deleteMeshTable(tableName);
});
beforeEach(async () => {
  proxy = await blackholeProxy(new URL(localConfig.endpoint));
  client = new DynamoDBClient({ ...localConfig, endpoint: proxy.endpoint, maxAttempts: 1 });
});
afterEach(async () => {
  client.destroy();
  await proxy.close();
});

/** Cuts the network, then waits for `signal` to abort: when (epoch ms), and with what. */
async function cutOff(signal: AbortSignal): Promise<{ at: number; reason: unknown }> {
  // Let one heartbeat succeed first: the lease end then comes from a renewal, not from the acquire.
  await new Promise((resolve) => setTimeout(resolve, lease.heartbeatMs + 200));
  proxy.blackhole();
  const at = await new Promise<number>((resolve) => {
    if (signal.aborted) resolve(Date.now());
    signal.addEventListener('abort', () => resolve(Date.now()), { once: true });
    setTimeout(() => resolve(Number.NaN), 10_000).unref();
  });
  return { at, reason: signal.reason };
}

describe('a holder behind a black hole loses its lease by the lease end', () => {
  it('Mutex', async () => {
    const held = await new Mutex({ client, tableName, name: `bh-${uniqueSuffix()}`, ...lease }).lock();
    const { at, reason } = await cutOff(held.signal);
    expect(reason).toBeInstanceOf(LockLostError);
    expect(at).toBeLessThanOrEqual(held.leaseUntil + SLACK_MS);
  });

  it('RWMutex, writer and reader', async () => {
    const writer = await new RWMutex({ client, tableName, name: `bh-${uniqueSuffix()}`, ...lease }).lock();
    const reader = await new RWMutex({ client, tableName, name: `bh-${uniqueSuffix()}`, ...lease }).rLock();
    const [lostWrite, lostRead] = await Promise.all([cutOff(writer.signal), cutOff(reader.signal)]);
    expect(lostWrite.reason).toBeInstanceOf(LockLostError);
    expect(lostWrite.at).toBeLessThanOrEqual(writer.leaseUntil + SLACK_MS);
    expect(lostRead.reason).toBeInstanceOf(LockLostError);
    expect(lostRead.at).toBeLessThanOrEqual(reader.leaseUntil + SLACK_MS);
  });

  it('Semaphore', async () => {
    const held = await new Semaphore({ client, tableName, name: `bh-${uniqueSuffix()}`, capacity: 2, ...lease }).acquire(1);
    const { at, reason } = await cutOff(held.signal);
    expect(reason).toBeInstanceOf(LockLostError);
    expect(at).toBeLessThanOrEqual(held.leaseUntil + SLACK_MS);
  });

  it('Once (the running function’s signal)', async () => {
    const once = new Once({ client, tableName, ...lease });
    const startedAt = Date.now();
    const lost = await new Promise<{ at: number; reason: unknown }>((resolve) => {
      // Not awaited: its result cannot be recorded either (the network is gone); the proxy's
      // closing ends that call.
      once.do(`bh-${uniqueSuffix()}`, async ({ signal }) => resolve(await cutOff(signal))).catch(() => undefined);
    });
    expect(lost.reason).toBeInstanceOf(OnceFailedError);
    // The run's lease began at the claim and was renewed at most up to the cut.
    expect(lost.at - startedAt).toBeLessThanOrEqual(lease.heartbeatMs + 200 + lease.leaseMs + SLACK_MS);
  }, 30_000);
});
