/**
 * Starting LocalStack: reuse when it is up, and a loud, fast failure (with the log tail, and
 * nothing left running) when it silently falls back to Docker or DynamoDB Local. The failures
 * are provoked on a second instance, on a free port with its own state directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  down,
  endpointOf,
  LOCALSTACK_ENDPOINT,
  LocalStackStartError,
  runningPid,
  up,
  type LocalStackInstance,
} from '../../infra/localstack/localstack.ts';
import { localConfig } from '../../infra/localstack/clients.ts';
import { createInlineFunction } from '../helpers/inlineFunction.ts';

/** Pids of Lambda runtime processes (ours) serving the LocalStack on `port`. */
function runtimeProcesses(port: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`127.0.0.1:${port}/_localstack_lambda`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const spares: LocalStackInstance[] = [];

async function spareInstance(): Promise<LocalStackInstance> {
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  const instance = { port, stateDir: mkdtempSync(join(tmpdir(), 'fnmesh-localstack-')) };
  spares.push(instance);
  return instance;
}

afterAll(async () => {
  // Should a spare instance have come up after all, it must not outlive the test.
  for (const instance of spares) {
    await down({ instance, quiet: true, graceMs: 3000 });
    rmSync(instance.stateDir, { recursive: true, force: true });
  }
});

describe('LocalStack start-up', () => {
  it('reuses the LocalStack that is already up', async () => {
    const result = await up({ log: () => {} });

    expect(result.started).toBe(false);
    expect(result.endpoint).toBe(LOCALSTACK_ENDPOINT);
  });

  it('refuses to reuse a LocalStack that is not fnmesh’s, unless told to', async () => {
    const instance = await spareInstance();
    const impostor = createHttpServer((request, response) => {
      const ours = request.url === '/_localstack/health';
      response.writeHead(ours ? 200 : 404, { 'content-type': 'application/json' });
      response.end(ours ? JSON.stringify({ services: { sqs: 'running' }, version: '4.0.0' }) : '{}');
    });
    await new Promise<void>((resolve) => impostor.listen(instance.port, '127.0.0.1', resolve));
    try {
      await expect(up({ instance, log: () => {} })).rejects.toThrow(/not fnmesh's .* FNMESH_FOREIGN_LOCALSTACK=1/);
      process.env.FNMESH_FOREIGN_LOCALSTACK = '1';
      expect(await up({ instance, log: () => {} })).toMatchObject({ started: false, endpoint: endpointOf(instance) });
    } finally {
      delete process.env.FNMESH_FOREIGN_LOCALSTACK;
      await new Promise((resolve) => impostor.close(resolve));
    }
  });

  it.each([
    ['the Docker Lambda executor', { LAMBDA_RUNTIME_EXECUTOR: 'no-such-executor' }, /Falling back to "docker" runtime executor/],
    [
      'DynamoDB Local',
      { PROVIDER_OVERRIDE_DYNAMODB: 'no-such-provider' },
      /could not load service plugin dynamodb|Configured provider \(no-such-provider\)/,
    ],
  ])('fails fast, with the log tail, when LocalStack falls back to %s', async (_, environment, logLine) => {
    const instance = await spareInstance();
    // This instance is meant to misbehave: its docker calls (if any) are its own, not the run's.
    const dockerCalls = { FNMESH_DOCKER_CALLS: join(instance.stateDir, 'docker-calls.log') };

    const startedAt = Date.now();
    const failure = await up({ instance, environment: { ...environment, ...dockerCalls }, log: () => {} }).catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(LocalStackStartError);
    expect((failure as Error).message).toMatch(/failed to load or fell back to something that needs Docker or a download/);
    expect((failure as Error).message).toMatch(logLine);
    expect(runningPid(instance)).toBeUndefined();
    console.log(`fallback to ${_} detected in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  });

  it('leaves no Lambda process behind, even when LocalStack itself is killed', async () => {
    const instance = await spareInstance();
    await up({ instance, log: () => {} });
    const lambda = new LambdaClient({ ...localConfig, endpoint: endpointOf(instance) });
    await createInlineFunction(lambda, { name: 'orphan-check', code: 'exports.handler = async () => process.pid;' });
    await lambda.send(new InvokeCommand({ FunctionName: 'orphan-check' }));
    expect(runtimeProcesses(instance.port).length).toBeGreaterThan(0);

    process.kill(runningPid(instance)!, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (runtimeProcesses(instance.port).length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));

    expect(runtimeProcesses(instance.port)).toEqual([]);
    lambda.destroy();
  });
});
