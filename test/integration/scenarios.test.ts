/**
 * The seed's scenarios end to end, part 1: the stack deployed to stage local, every function
 * invoked with its sample event through `serverless invoke` (part 2, the `fnmesh` demos:
 * demos.test.ts).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../infra/localstack/localstack.ts';
import { serverless } from '../../infra/serverless/cli.ts';
import { useTheStack, withPingChannel } from '../helpers/stack.ts';

useTheStack(); // the run's one deploy, shared (test/helpers/stack.ts)

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
