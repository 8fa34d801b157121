/**
 * Fault injection in deployed workers (FNMESH_WORKER_FAULTS): each kind fails the invocation the
 * way Lambda reports it, and the function serves the next invocation once faults are off.
 */
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambda } from '../helpers/aws.ts';
import { deployStack } from '../helpers/stack.ts';

const FunctionName = 'fnmesh-local-ping';
let environment: Record<string, string>;

async function configure(faults: string): Promise<void> {
  await lambda.send(
    new UpdateFunctionConfigurationCommand({
      FunctionName,
      Environment: { Variables: { ...environment, FNMESH_WORKER_FAULTS: faults } },
      Timeout: 3,
    }),
  );
  await waitUntilFunctionUpdatedV2({ client: lambda, maxWaitTime: 60 }, { FunctionName });
}

async function invoke(): Promise<{ errorType?: string; body: string }> {
  const response = await lambda.send(new InvokeCommand({ FunctionName, Payload: Buffer.from(JSON.stringify({ message: 'faults?' })) }));
  const body = Buffer.from(response.Payload ?? new Uint8Array()).toString();
  return response.FunctionError ? { errorType: JSON.parse(body).errorType, body } : { body };
}

beforeAll(async () => {
  await deployStack();
  environment = (await lambda.send(new GetFunctionConfigurationCommand({ FunctionName }))).Environment?.Variables ?? {};
}, 300_000);

afterAll(async () => {
  await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName, Environment: { Variables: environment }, Timeout: 10 }));
  await waitUntilFunctionUpdatedV2({ client: lambda, maxWaitTime: 60 }, { FunctionName });
});

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
