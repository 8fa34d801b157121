/**
 * The ceiling of a WaitGroup's done() fan-in moves with its shards (docs/SCALING.md). On a strict
 * LocalStack whose partition keys serve 40 write units a second (1/25 of AWS's 1,000), one
 * counter takes 10 done calls a second (4 units each: the marker and the counter, both in its
 * partition); the same 60 calls offered at 30 a second are throttled on one shard and go through
 * untouched on 8, each shard's partition having its own units.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { countedClients } from '../../infra/localstack/clients.ts';
import { createMeshTableNamed } from '../../infra/localstack/resources.ts';
import { scratchLocalStack, type ScratchLocalStack, startScratch } from '../../infra/localstack/scratch.ts';
import { CallCounter } from '../../lib/faults/callCounter.ts';
import { shardOf } from '../../lib/spawn/shards.ts';
import { WaitGroup } from '../../lib/sync/WaitGroup.ts';

const UNITS = 40;
let scratch: ScratchLocalStack;
let dynamodb: DynamoDBClient;
const counter = new CallCounter();
const tableName = 'mesh';

beforeAll(async () => {
  scratch = await scratchLocalStack('sharded-ceiling');
  await startScratch(scratch, {
    FNMESH_STRICT: '1',
    FNMESH_STRICT_SEED: '12',
    FNMESH_STRICT_PARTITION_WRITE_UNITS: String(UNITS),
    FNMESH_STRICT_TRANSACTION_WINDOW_MS: '5',
  });
  dynamodb = countedClients(counter, scratch.config).dynamodb;
  await createMeshTableNamed(tableName, dynamodb);
}, 300_000);

afterAll(async () => {
  await scratch?.remove();
});

/** `n` done calls at `rate` a second (open loop); the TransactWriteItems attempts they took. */
async function fanIn(shards: number, n: number, rate: number) {
  const wg = new WaitGroup({ client: dynamodb, tableName, name: `fan-in-${shards}`, shards, poll: { baseMs: 20, maxMs: 200 } });
  await wg.add(n);
  await new Promise((resolve) => setTimeout(resolve, 1100)); // a full bucket again
  counter.reset();
  const started = performance.now();
  const calls: Promise<boolean>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = started + (i / rate) * 1000 - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    calls.push(wg.done(`task-${i}`));
  }
  const outcomes = await Promise.allSettled(calls);
  const tally = counter.tally()['DynamoDB.TransactWriteItems']!;
  return { wg, failed: outcomes.filter((outcome) => outcome.status === 'rejected').length, ...tally };
}

it('60 done calls at 30 a second: throttled on one shard, not on 8', async () => {
  const n = 60;
  const rate = 30; // 3 × one counter's 10 a second
  const perShard = Array.from(
    { length: 8 },
    (_, shard) => Array.from({ length: n }, (_, i) => `task-${i}`).filter((id) => shardOf(id, 8) === shard).length,
  );
  expect(Math.max(...perShard) * 4).toBeLessThan(UNITS + UNITS * 2); // every shard within its burst + 2 s of units

  const one = await fanIn(1, n, rate);
  expect(one.throttled).toBeGreaterThan(0); // 240 units against 40 a second (and 40 of burst)

  const eight = await fanIn(8, n, rate);
  expect(eight.throttled).toBe(0);
  expect(eight.failed).toBe(0);
  expect(eight.attempts).toBe(n + eight.conflicts);
  expect(await eight.wg.count()).toBe(0);
  await eight.wg.wait({ signal: AbortSignal.timeout(10_000) });
  // One shard gets through too, slower (or some of its calls run out of retries: nothing applied).
  expect(await one.wg.count()).toBe(one.failed);
});
