/**
 * Runs the Serverless Framework CLI (osls) the way a user does: `npx serverless ...`, in this
 * repository's service (the tests, bench, chaos) or, for `fnmesh deploy`, in the user's project.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../localstack/localstack.ts';
import { withProcessLock } from '../processLock.ts';

/**
 * The project's own osls (`node_modules/.bin/serverless` in `cwd`), else the one beside fnmesh (in
 * this repository), else `serverless` on the PATH (an installed fnmesh brings no osls of its own).
 */
function binIn(cwd: string): string {
  for (const dir of [cwd, projectRoot]) {
    const bin = join(dir, 'node_modules', '.bin', 'serverless');
    if (existsSync(bin)) return bin;
  }
  return 'serverless';
}

/**
 * `package` and `deploy` build into the service folder (.esbuild/, .serverless/): one at a time per
 * folder, across processes (infra/processLock.ts); other commands run as they come.
 */
function oneBuildAtATime<T>(args: string[], cwd: string, run: () => Promise<T>): Promise<T> {
  return args[0] === 'package' || args[0] === 'deploy' ? withProcessLock(`serverless-build:${cwd}`, run) : run();
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `serverless <args>` in `cwd` (this repository's service by default) and collects its output.
 * `env` is laid over this process's environment; a variable set to undefined is left out.
 */
export function serverless(args: string[], env: NodeJS.ProcessEnv = {}, cwd = projectRoot): Promise<CliResult> {
  return oneBuildAtATime(
    args,
    cwd,
    () =>
      new Promise((resolve) => {
        execFile(binIn(cwd), args, { cwd, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        });
      }),
  );
}

/**
 * Runs `serverless <args>` in `cwd` (this repository's service by default) with its output on this
 * terminal (or on stderr, to keep stdout for a JSON document); rejects if it fails.
 */
export function serverlessInteractive(args: string[], to: 'inherit' | 'stderr' = 'inherit', cwd = projectRoot): Promise<void> {
  return oneBuildAtATime(
    args,
    cwd,
    () =>
      new Promise((resolve, reject) => {
        const child = spawn(binIn(cwd), args, { cwd, stdio: to === 'inherit' ? 'inherit' : ['ignore', process.stderr, process.stderr] });
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`serverless ${args.join(' ')} exited with ${code}`))));
      }),
  );
}
