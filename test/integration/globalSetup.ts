/**
 * Integration setup: a `docker` that fails (and records the call) first on PATH, and LocalStack
 * up through the same helper users' suites get (infra/localstack/testSetup.ts: started here only
 * if nothing answers yet, and then stopped again at the end). Each test file creates what it
 * needs (the smoke stack file deploys the stack).
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCloud } from '../../infra/localstack/testSetup.ts';
import { testRunDir } from '../helpers/testRun.ts';

export default async function setup() {
  // Every integration project lists this file; the first one's setup serves the whole run.
  if (process.env.FNMESH_TEST_RUN) return;
  const run = `${Date.now().toString(36)}-${process.pid}`;
  process.env.FNMESH_TEST_RUN = run; // the files' workers inherit it (test/helpers/testRun.ts)
  const fakeBin = mkdtempSync(join(tmpdir(), 'fnmesh-no-docker-'));
  const calls = join(fakeBin, 'docker-calls.log');
  writeFileSync(
    join(fakeBin, 'docker'),
    `#!/bin/sh\necho "docker $*" >> "\${FNMESH_DOCKER_CALLS:-${calls}}"\necho "fnmesh tests: docker must never be called" >&2\nexit 97\n`,
  );
  chmodSync(join(fakeBin, 'docker'), 0o755);
  process.env.PATH = `${fakeBin}:${process.env.PATH}`;
  process.env.FNMESH_DOCKER_CALLS = calls;

  // The tests build their clients from infra/localstack/clients.ts: the environment stays as it is.
  const stopLocalCloud = await startLocalCloud({ log: (line) => console.log(line), setEnvironment: false });

  return async () => {
    await stopLocalCloud();
    const dockerCalls = existsSync(calls) ? readFileSync(calls, 'utf8') : '';
    rmSync(fakeBin, { recursive: true, force: true });
    rmSync(testRunDir(run), { recursive: true, force: true });
    if (dockerCalls) throw new Error(`docker was called during the test run:\n${dockerCalls}`);
  };
}
