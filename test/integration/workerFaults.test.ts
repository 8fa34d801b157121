/**
 * Fault injection in deployed workers (FNMESH_WORKER_FAULTS): each kind fails the invocation the
 * way Lambda reports it, and the function serves the next invocation once faults are off. The
 * worker is the stack's ping handler, deployed here under a name of its own: turning its faults on
 * touches nothing another test file uses.
 */
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { setWorkerFaults } from '../../chaos/workerFaultConfig.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambda, uniqueSuffix } from '../../infra/localstack/resources.ts';
import { deployFixture } from '../helpers/deployWorker.ts';

const FunctionName = `fnmesh-test-faults-${uniqueSuffix()}`;
let remove: (() => Promise<void>) | undefined;

beforeAll(async () => {
  remove = await deployFixture('ping', FunctionName, { entry: 'functions/ping/handler.ts', timeout: 3 });
}, 300_000);

afterAll(() => remove?.());

/** Faults on (a JSON text, as in the variable) or off (''); a short timeout for `hang`. */
async function configure(faults: string): Promise<void> {
  await setWorkerFaults(lambda, FunctionName, faults, { Timeout: 3 });
}

async function invoke(): Promise<{ errorType?: string; body: string }> {
  const response = await lambda.send(new InvokeCommand({ FunctionName, Payload: Buffer.from(JSON.stringify({ message: 'faults?' })) }));
  const body = Buffer.from(response.Payload ?? new Uint8Array()).toString();
  return response.FunctionError ? { errorType: JSON.parse(body).errorType, body } : { body };
}

describe('worker faults', () => {
  it.each([
    ['throw', 'InjectedWorkerFault'],
    ['crash', 'Runtime.ExitError'],
    ['hang', 'Sandbox.Timedout'],
  ])('%s fails the invocation with %s, and the next one is served', async (kind, errorType) => {
    await configure(JSON.stringify({ rate: 1, seed: 1, kinds: [kind] }));
    expect((await invoke()).errorType).toBe(errorType);

    await configure('');
    expect((await invoke()).errorType).toBeUndefined();
  });

  it('draws faults at the configured rate, seeded by the request: some invocations fail, the others are served', async () => {
    await configure(JSON.stringify({ rate: 0.5, seed: 7, kinds: ['throw'] }));
    const outcomes = [];
    for (let i = 0; i < 20; i++) outcomes.push((await invoke()).errorType ?? 'ok');

    expect(outcomes).toContain('InjectedWorkerFault');
    expect(outcomes).toContain('ok');
    expect(outcomes.every((outcome) => outcome === 'ok' || outcome === 'InjectedWorkerFault')).toBe(true);
  });

  it('refuses a malformed configuration at start-up, with the reason', async () => {
    await configure('{"rate": 2}');
    const { errorType, body } = await invoke();
    expect(errorType).toMatch(/MeshConfigError|Runtime\./);
    expect(body).toMatch(/FNMESH_WORKER_FAULTS/);
  });
});
