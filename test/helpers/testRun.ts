/**
 * One `npm test` run's own folder, shared by its test files side by side (they run in separate
 * processes): the packed tarball, the mark that the stack is deployed. The integration setup
 * (test/integration/globalSetup.ts) names the run in FNMESH_TEST_RUN, which the files' workers
 * inherit, and removes the folder at the end.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function testRunDir(run = process.env.FNMESH_TEST_RUN): string {
  if (!run) throw new Error('FNMESH_TEST_RUN is not set: run the integration tests through vitest (its global setup names the run)');
  const dir = join(tmpdir(), `fnmesh-test-run-${run}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
