/**
 * The installable package (issue 15, deliverable 1): `npm pack` ships the compiled library, its
 * types, the bin and the local cloud's plugin, and nothing else (no TypeScript sources, no tests);
 * installed from the tarball into a fresh folder outside the repository, a TypeScript consumer
 * type-checks against the entry points and a plain-JavaScript one runs them, with no TypeScript
 * loader installed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPacked, type Packed, packedFnmesh, pinned } from '../helpers/package.ts';

/** Where each shipped file may come from; anything else in the tarball is a mistake. */
const ALLOWED = [
  /^package\.json$/,
  /^README\.md$/,
  /^CHANGELOG\.md$/,
  /^LICENSE$/,
  /^bin\/fnmesh\.js$/,
  /^dist\/.+\.(js|d\.ts)$/,
  /^dist\/cli\/ui\/web\/(index\.html|style\.css)$/,
  /^infra\/serverless\/stage-guard\.cjs$/,
  /^infra\/localstack\/(requirements|constraints)\.txt$/,
  /^infra\/localstack\/lambda-sdk\/v\d\/package(-lock)?\.json$/,
  /^infra\/localstack\/plugin\/pyproject\.toml$/,
  /^infra\/localstack\/plugin\/fnmesh_localstack\/[a-z_]+\.py$/,
  /^infra\/localstack\/plugin\/fnmesh_localstack\/runtime\/[\w-]+\.(cjs|mjs|sh)$/,
  /^templates\//,
];

const ENTRY_POINTS = ['.', './middlewares', './testing', './local'] as const;

const TS_CONSUMER = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Channel, type HeldLock, MeshError, Mutex } from 'fnmesh';
import { taskCompletion } from 'fnmesh/middlewares';
import { CallCounter, SdkFaults, seededRandom } from 'fnmesh/testing';
import { up } from 'fnmesh/local';

const dynamodb = new DynamoDBClient({ region: 'us-east-1' });
const mutex = new Mutex({ client: dynamodb, tableName: 'mesh', name: 'orders' });
export const held: () => Promise<HeldLock> = () => mutex.lock();
export const channel = new Channel<{ n: number }>({
  sqs: new SQSClient({ region: 'us-east-1' }),
  dynamodb,
  tableName: 'mesh',
  name: 'jobs',
  queueUrl: 'http://127.0.0.1:4566/000000000000/jobs',
});
export const send = (n: number) => channel.send({ n });
export const faults = new SdkFaults({ rate: 0.1, seed: 7 }).attach(dynamodb);
export const counter = new CallCounter();
export const random: number = seededRandom(1)();
export const isMeshError = (err: unknown) => err instanceof MeshError;
export { taskCompletion, up };
`;

/** The same consumer with a type error: proves the check above is a real check. */
const TS_BROKEN = `
import { Mutex } from 'fnmesh';
export const mutex = new Mutex({ tableName: 'mesh', name: 'orders' });
`;

const JS_CONSUMER = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Mutex, MeshError } from 'fnmesh';
import { seededRandom, SdkFaults } from 'fnmesh/testing';
import { workerFaults } from 'fnmesh/middlewares';
import * as local from 'fnmesh/local';

const client = new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });
const mutex = new Mutex({ client, tableName: 'mesh', name: 'orders' });
console.log(JSON.stringify({
  mutex: mutex instanceof Mutex,
  tryLock: typeof mutex.tryLock,
  meshError: typeof MeshError,
  random: seededRandom(1)() === seededRandom(1)(),
  faults: typeof new SdkFaults({ rate: 0, seed: 1 }).attach,
  middleware: typeof workerFaults({ rate: 0 }).before,
  local: typeof local.up,
}));
`;

/** A handler that uses only a Mutex: what it bundles shows whether tree-shaking works. */
const MUTEX_HANDLER = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Mutex } from 'fnmesh';
const client = new DynamoDBClient({});
export const handler = async (event) => {
  const held = await new Mutex({ client, tableName: process.env.MESH_TABLE, name: event.name }).lock();
  await held.unlock();
};
`;

const TSCONFIG = {
  compilerOptions: {
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    target: 'ES2023',
    lib: ['ES2023', 'ESNext.Disposable'],
    types: ['node'],
    strict: true,
    exactOptionalPropertyTypes: true,
    skipLibCheck: false,
    noEmit: true,
  },
  files: ['consumer.ts'],
};

let packed: Packed;
let app: string;

function shipped(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

function tsc(dir: string): { code: number; output: string } {
  try {
    return { code: 0, output: execFileSync(join(dir, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: dir, encoding: 'utf8' }) };
  } catch (err) {
    const failure = err as { status: number; stdout: string };
    return { code: failure.status, output: failure.stdout };
  }
}

describe('the fnmesh package', () => {
  beforeAll(async () => {
    packed = await packedFnmesh();
    app = installPacked(packed.tarball, [
      pinned('@aws-sdk/client-dynamodb'),
      pinned('@aws-sdk/client-sqs'),
      pinned('@aws-sdk/client-lambda'),
      pinned('@middy/core'),
      pinned('@types/aws-lambda'),
      pinned('@types/node'),
      pinned('typescript'),
    ]);
  }, 180_000);

  afterAll(() => {
    if (app) rmSync(dirname(app), { recursive: true, force: true });
  });

  it('packs only the intended files: compiled JavaScript and .d.ts, the bin, the plugin', () => {
    const paths = packed.files.map((file) => file.path);
    expect(paths.filter((path) => !ALLOWED.some((pattern) => pattern.test(path)))).toEqual([]);
    // The starter is source for the user's own project (`fnmesh init` copies it): .ts and tests are its point.
    const library = paths.filter((path) => !path.startsWith('templates/'));
    expect(library.filter((path) => /\.ts$/.test(path) && !path.endsWith('.d.ts'))).toEqual([]);
    expect(library.filter((path) => /(^|\/)(test|__pycache__|build)\/|\.egg-info|\.test\./.test(path))).toEqual([]);
    expect(paths.filter((path) => /__pycache__|\.pyc$|(^|\/)node_modules\//.test(path))).toEqual([]);
    expect(paths).toEqual(
      expect.arrayContaining([
        'bin/fnmesh.js',
        'dist/cli/main.js',
        'dist/cli/ui/web/app.js',
        'dist/cli/ui/web/index.html',
        'dist/cli/ui/web/style.css',
        'infra/localstack/requirements.txt',
        'infra/localstack/constraints.txt',
        'infra/localstack/plugin/pyproject.toml',
        'infra/localstack/plugin/fnmesh_localstack/process_executor.py',
        'infra/localstack/plugin/fnmesh_localstack/runtime/worker.cjs',
        'infra/localstack/lambda-sdk/v3/package-lock.json',
        'infra/serverless/stage-guard.cjs',
        'templates/starter/package.json',
        'templates/starter/serverless.yml',
        'templates/starter/test/service.test.ts',
      ]),
    );
  });

  it('ships every file its exports map names, and no dependency a user does not run', () => {
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules', 'fnmesh', 'package.json'), 'utf8'));
    const paths = new Set(packed.files.map((file) => file.path));
    for (const entry of ENTRY_POINTS) {
      const target = manifest.exports[entry];
      expect(paths, `${entry} import`).toContain(target.import.replace(/^\.\//, ''));
      expect(paths, `${entry} types`).toContain(target.types.replace(/^\.\//, ''));
    }
    expect(manifest.private).toBeUndefined();
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['cli-table3', 'commander', 'picocolors', 'zod']);
    expect(Object.keys(manifest.peerDependencies)).toEqual(
      expect.arrayContaining(['@aws-sdk/client-dynamodb', '@aws-sdk/client-lambda', '@aws-sdk/client-sqs', '@middy/core']),
    );
    // Nothing at run time needs a TypeScript loader: tsx is not installed with the package.
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
    const installed = shipped(join(app, 'node_modules', 'fnmesh')).filter((path) => !path.startsWith('templates/'));
    expect(installed.filter((path) => /\.ts$/.test(path) && !path.endsWith('.d.ts'))).toEqual([]);
  });

  it('type-checks a TypeScript consumer of the entry points (NodeNext, strict, lib check on), and rejects a wrong one', () => {
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    writeFileSync(join(app, 'consumer.ts'), TS_CONSUMER);
    expect(tsc(app)).toEqual({ code: 0, output: '' });

    writeFileSync(join(app, 'consumer.ts'), TS_BROKEN);
    const broken = tsc(app);
    expect(broken.code).not.toBe(0);
    expect(broken.output).toMatch(/consumer\.ts.*error TS2345.*'client' is missing/s);
  });

  it('runs a plain-JavaScript consumer and the bin with Node alone', () => {
    writeFileSync(join(app, 'consumer.mjs'), JS_CONSUMER);
    const output = execFileSync(process.execPath, ['consumer.mjs'], { cwd: app, encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual({
      mutex: true,
      tryLock: 'function',
      meshError: 'function',
      random: true,
      faults: 'function',
      middleware: 'function',
      local: 'function',
    });
    const help = execFileSync(join(app, 'node_modules', '.bin', 'fnmesh'), ['--help'], { cwd: app, encoding: 'utf8' });
    expect(help).toMatch(/^Usage: fnmesh/);
  });

  it('tree-shakes: a handler that imports only Mutex bundles a few KB of fnmesh, and none of zod', async () => {
    const bundle = await build({
      stdin: { contents: MUTEX_HANDLER, resolveDir: app, loader: 'js' },
      absWorkingDir: app,
      bundle: true,
      minify: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: ['@aws-sdk/*'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    // What made it into the bundle (the metafile's inputs also list what was parsed and then dropped).
    const [output] = Object.values(bundle.metafile.outputs);
    const inputs = Object.entries(output!.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path);
    expect(inputs).toContain('node_modules/fnmesh/dist/lib/sync/Mutex.js');
    expect(inputs.filter((input) => /node_modules\/(zod|commander|cli-table3)\//.test(input))).toEqual([]);
    // 20.7 KB on 2026-11-30 (the Mutex with its fifo queue and its wake-ups inside the process;
    // 18.3 KB before those): a module pulled in by mistake would add far more (zod alone: 454 KB).
    expect(bundle.outputFiles[0]!.contents.byteLength).toBeLessThan(24_000);
  });
});
