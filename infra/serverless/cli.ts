/** Runs the Serverless Framework CLI (osls) the way a user does: `npx serverless ...`. */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../localstack/localstack.ts';

const bin = join(projectRoot, 'node_modules', '.bin', 'serverless');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `serverless <args>` and collects its output. */
export function serverless(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(bin, args, { cwd: projectRoot, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs `serverless <args>` with its output on this terminal (or on stderr, to keep stdout for a
 * JSON document); rejects if it fails.
 */
export function serverlessInteractive(args: string[], to: 'inherit' | 'stderr' = 'inherit'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: projectRoot, stdio: to === 'inherit' ? 'inherit' : ['ignore', process.stderr, process.stderr] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`serverless ${args.join(' ')} exited with ${code}`))));
  });
}
