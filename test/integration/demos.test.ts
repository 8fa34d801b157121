/**
 * The seed's scenarios end to end, part 2: every demo of the `fnmesh` CLI on the deployed stack
 * (stage local), checked field by field in its `--json` document.
 */
import { describe, expect, it } from 'vitest';
import { fnmesh } from '../helpers/fnmesh.ts';
import { useTheStack, withPingChannel } from '../helpers/stack.ts';

useTheStack(); // the run's one deploy, shared (test/helpers/stack.ts)

const squares = (n: number) => Array.from({ length: n }, (_, task) => ({ task, result: task * task }));

describe('fnmesh demo --json', () => {
  it('hello: the caller spawns a worker that runs and says Hello, World!', async () => {
    const { code, json } = await fnmesh(['demo', 'hello']);

    expect(code).toBe(0);
    expect(json).toMatchObject({ greeting: 'Hello, World!', workerRan: true });
    expect(json.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('channel: a worker sends 10, the caller receives 10', async () => {
    const { code, json } = await withPingChannel(() => fnmesh(['demo', 'channel']));

    expect(code).toBe(0);
    expect(json).toMatchObject({ received: 10 });
  });

  it('rpc: Quoter.Multiply 6 × 7 = 42; bad arguments and unknown methods come back as typed errors', async () => {
    const ok = await fnmesh(['demo', 'rpc', '--a', '6', '--b', '7']);
    const badArgs = await fnmesh(['demo', 'rpc', '--a', 'six', '--b', '7']);
    const unknown = await fnmesh(['demo', 'rpc', '--method', 'Quoter.Divide']);

    expect(ok.json).toEqual({ result: 42, traceId: expect.any(String) });
    expect(badArgs.json.error).toMatchObject({ name: 'RpcInvalidArgumentsError', remoteName: 'InvalidArgumentsError', retryable: false });
    expect(badArgs.json.error.message).toMatch(/A/);
    expect(unknown.json.error).toMatchObject({ name: 'RpcUnknownMethodError', remoteName: 'UnknownMethodError' });
  });

  it('counter: 4 workers × 25 increments under one lock → exactly 100', async () => {
    const { code, json } = await fnmesh(['demo', 'counter', '--workers', '4', '--increments', '25']);

    expect(code).toBe(0);
    expect(json).toMatchObject({ expected: 100, actual: 100, lostUpdates: 0 });
  });

  it("counter --unsafe: the seed's three locks on one counter lose updates, and say how many", async () => {
    let json: any;
    for (let attempt = 0; attempt < 3; attempt++) {
      ({ json } = await fnmesh(['demo', 'counter', '--workers', '6', '--increments', '20', '--unsafe']));
      if (json.lostUpdates > 0) break;
    }

    expect(json.expected).toBe(120);
    expect(json.lostUpdates).toBe(json.expected - json.actual);
    expect(json.lostUpdates).toBeGreaterThan(0);
  });

  it('squares: every task matched to its square, the one that failed retried', async () => {
    const { code, json } = await fnmesh(['demo', 'squares', '--tasks', '8', '--fail-once', '3']);

    expect(code).toBe(0);
    expect(json).toMatchObject({ tasks: 8, results: squares(8), retried: [3] });
  });

  it('pool: every task matched to its square through the worker pool, a failing task redelivered', async () => {
    const { code, json } = await fnmesh(['demo', 'pool', '--tasks', '12', '--fail-once', '5']);

    expect(code).toBe(0);
    expect(json).toMatchObject({ tasks: 12, results: squares(12), duplicates: 0 });
  });

  it('shards: every key on exactly the shard the ring names; about 1/(K+1) move when one is added', async () => {
    const { code, json } = await fnmesh(['demo', 'shards', '--shards', '3', '--keys', '40']);

    expect(code).toBe(0);
    expect(json).toMatchObject({ shards: 3, keys: 40, misplaced: [] });
    expect(Object.keys(json.assignment)).toHaveLength(40);
    expect(new Set(Object.values(json.assignment))).toEqual(new Set(['shard-0', 'shard-1', 'shard-2']));
    expect(json.movedOnAdd).toBeGreaterThan(0);
    expect(json.movedOnAdd).toBeLessThan(40 / 2);
  });
});
