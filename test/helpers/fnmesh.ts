/** Runs the `fnmesh` CLI as a user does, and parses its `--json` document. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../infra/localstack/localstack.ts';

export interface FnmeshRun {
  code: number;
  json: any;
  stderr: string;
}

export function fnmesh(args: string[], timeoutMs = 240_000): Promise<FnmeshRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(projectRoot, 'bin', 'fnmesh.js'), ...args, '--json'],
      { cwd: projectRoot, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        let json: unknown;
        try {
          json = JSON.parse(stdout);
        } catch {
          json = { unparsable: stdout };
        }
        resolve({ code, json, stderr });
      },
    );
  });
}
