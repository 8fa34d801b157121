/** Runs the Serverless Framework CLI (osls) the way a user does: `npx serverless ...`. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../infra/localstack/localstack.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function serverless(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      join(projectRoot, 'node_modules', '.bin', 'serverless'),
      args,
      { cwd: projectRoot, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
