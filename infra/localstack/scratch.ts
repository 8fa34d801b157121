/**
 * A second LocalStack, on a free port with its own state: for tests and benchmarks that need
 * other settings (strict mode, a scaled-down throttle) or that stop and start it (a restart),
 * leaving the project's one alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalClientConfig, localClientConfig } from './clients.ts';
import { down, endpointOf, type LocalStackInstance, up } from './localstack.ts';

export interface ScratchLocalStack {
  instance: LocalStackInstance;
  /** SDK client settings for it (dummy credentials, us-east-1). */
  config: LocalClientConfig;
  /** Stops it and deletes its state. */
  remove(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A LocalStack not yet started (`start` it with the settings it needs). */
export async function scratchLocalStack(name: string): Promise<ScratchLocalStack> {
  const instance = { port: await freePort(), stateDir: mkdtempSync(join(tmpdir(), `fnmesh-${name}-`)) };
  return {
    instance,
    config: localClientConfig({ endpoint: endpointOf(instance) }),
    async remove() {
      await down({ instance, quiet: true, graceMs: 3000 });
      rmSync(instance.stateDir, { recursive: true, force: true });
    },
  };
}

/** Starts it, quietly, with `environment` on top of the usual settings. */
export async function startScratch(scratch: ScratchLocalStack, environment: Record<string, string> = {}): Promise<void> {
  await up({ instance: scratch.instance, log: () => {}, environment });
}
