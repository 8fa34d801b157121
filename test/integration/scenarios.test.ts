/**
 * The seed's scenarios end to end: the stack deployed to stage local, every function invoked
 * with its sample event through `serverless invoke`, and every demo of the `fnmesh` CLI checked
 * field by field in its `--json` document.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../infra/localstack/localstack.ts';
import { serverless } from '../../infra/serverless/cli.ts';
import { fnmesh } from '../helpers/fnmesh.ts';
import { withPingChannel } from '../helpers/stack.ts';

const squares = (n: number) => Array.from({ length: n }, (_, task) => ({ task, result: task * task }));

describe('serverless invoke --path events/<fn>.json --stage local', () => {
  const expectations: Record<string, (body: any) => void> = {
    ping: (body) => expect(body).toMatchObject({ pong: true }),
    record: (body) => expect(body).toEqual({ batchItemFailures: [] }),
    hello: (body) => expect(body).toEqual({ greeting: 'Hello, World!' }),
    channel: (body) => expect(body).toMatchObject({ sent: 10 }),
    quoter: (body) => expect(body).toEqual({ ok: true, result: 42 }),
    counter: (body) => expect(body).toMatchObject({ counter: 'events-sample', increments: 3, lock: 'events-sample-lock' }),
    square: (body) => expect(body).toEqual({ task: 7, result: 49 }),
    worker: (body) => expect(body).toEqual({ batchItemFailures: [] }),
    shard: (body) => expect(body).toEqual({ batchItemFailures: [] }),
    taskfailures: (body) => expect(body).toEqual({ batchItemFailures: [] }),
  };

  it('has a sample event for every function, and an expectation for every sample', () => {
    const samples = readdirSync(join(projectRoot, 'events')).map((file) => file.replace(/\.json$/, ''));

    expect(samples.sort()).toEqual(Object.keys(expectations).sort());
  });

  it.each(Object.keys(expectations))('invokes %s with its sample event', async (fn) => {
    const invoke = () => serverless(['invoke', '-f', fn, '--stage', 'local', '--path', `events/${fn}.json`]);
    // The channel function sends on the stack's ping channel: held meanwhile (test/helpers/stack.ts).
    const result = fn === 'channel' ? await withPingChannel(invoke) : await invoke();

    expect(result.code, result.stdout + result.stderr).toBe(0);
    expectations[fn]!(JSON.parse(result.stdout));
  });
});

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
