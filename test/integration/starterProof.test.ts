/**
 * The whole path a new user takes (issue 15's proof), from a fresh folder outside the repository
 * with only the packed tarball: install it, `fnmesh init` a service, install the service, and run
 * its `npm test` — which type-checks it, brings the local cloud up (here: finds the suite's own
 * LocalStack, as a developer's second project would), deploys it with `serverless deploy --stage
 * local` and runs its tests against the deployed functions. No Docker, nothing from this
 * repository but the tarball.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCALSTACK_PORT } from '../../infra/localstack/localstack.ts';
import { installPacked, type Packed, packedFnmesh } from '../helpers/package.ts';

const MINUTES = 60_000;

interface Run {
  code: number;
  output: string;
}

/** Runs a command to its end, with the environment a user's shell would have (not vitest's own). */
function run(command: string, args: string[], cwd: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(VITEST|NODE_OPTIONS$|NODE_ENV$|TEST$|npm_)/.test(name)) env[name] = value;
  }
  env.FNMESH_LOCALSTACK_PORT = String(LOCALSTACK_PORT);
  delete env.FORCE_COLOR;
  env.NO_COLOR = '1';
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

let packed: Packed;
let workspace: string;
let tool: string | undefined;

beforeAll(async () => {
  packed = await packedFnmesh();
  workspace = mkdtempSync(join(tmpdir(), 'fnmesh-starter-'));
}, 5 * MINUTES);

afterAll(() => {
  for (const dir of [workspace, tool && dirname(tool)]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a new project from the tarball alone', () => {
  it(
    'installs fnmesh, inits a service, and the service passes its own npm test against the local cloud',
    async () => {
      // Prepare: fnmesh installed from the tarball in a folder of its own.
      tool = installPacked(packed.tarball, []);
      const fnmesh = join(tool, 'node_modules', '.bin', 'fnmesh');

      // Act
      const init = await run(fnmesh, ['init', 'orders', '--fnmesh', `file:${packed.tarball}`], workspace);
      const service = join(workspace, 'orders');
      const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], service);
      const test = await run('npm', ['test'], service);

      // Assess
      expect(init.code, init.output).toBe(0);
      expect(init.output).toContain('npm test');
      expect(install.code, install.output).toBe(0);
      expect(JSON.parse(readFileSync(join(service, 'package.json'), 'utf8')).dependencies.fnmesh).toBe(`file:${packed.tarball}`);
      expect(existsSync(join(service, 'node_modules', 'fnmesh', 'dist', 'lib', 'index.js'))).toBe(true);
      expect(existsSync(join(service, 'node_modules', 'fnmesh', 'lib'))).toBe(false); // no sources, only dist/
      expect(test.code, test.output).toBe(0);
      expect(test.output.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Tests\s+\d+ passed/);
    },
    15 * MINUTES,
  );
});
