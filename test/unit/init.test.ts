/**
 * `fnmesh init`: the starter it writes is complete (every template file, every placeholder filled),
 * it refuses to write over a project, and what it writes is valid: package.json pins what this
 * repository pins, serverless.yml reads with osls's own reader, and the TypeScript type-checks
 * against fnmesh's sources (`fnmesh` mapped to lib/index.ts, as the package's entry point).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, InitRefusedError, type InitResult, packageRoot, serviceNameOf, TEMPLATE } from '../../cli/commands/init.ts';
import { projectRoot } from '../../infra/localstack/localstack.ts';

const readConfiguration: (path: string) => Promise<any> = createRequire(import.meta.url)('osls/lib/configuration/read.js');
const repoManifest = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8'));
const testingEntry = join(projectRoot, 'testing', 'index.ts');

function filesUnder(root: string, under = ''): string[] {
  return readdirSync(join(root, under), { withFileTypes: true }).flatMap((entry) => {
    const path = join(under, entry.name);
    return entry.isDirectory() ? filesUnder(root, path) : [path];
  });
}

/** Type-checks the generated project with its own tsconfig, `fnmesh` resolved to this repository's sources. */
function typeErrors(dir: string): string[] {
  // vitest, the SDK and the AWS types come from this repository's node_modules, linked in.
  if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(projectRoot, 'node_modules'), join(dir, 'node_modules'));
  const config = ts.getParsedCommandLineOfConfigFile(
    join(dir, 'tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  )!;
  const paths: Record<string, string[]> = { fnmesh: [join(projectRoot, 'lib', 'index.ts')] };
  if (existsSync(testingEntry)) paths['fnmesh/testing'] = [testingEntry];
  const program = ts.createProgram({ rootNames: config.fileNames, options: { ...config.options, paths } });
  // Only the project's own files: fnmesh's sources are compiled with their own options (a user
  // gets the built .d.ts), not the project's.
  return ts
    .getPreEmitDiagnostics(program)
    .filter((diagnostic) => !diagnostic.file || !relative(dir, diagnostic.file.fileName).startsWith('..'))
    .map(
      (diagnostic) =>
        `${diagnostic.file ? relative(dir, diagnostic.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`,
    );
}

describe('fnmesh init', () => {
  let tmp: string;
  let dir: string;
  let result: InitResult;
  let errors: string[] | undefined;
  const typeErrorsOnce = () => (errors ??= typeErrors(dir));

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'fnmesh-init-'));
    dir = join(tmp, 'My Orders_2');
    result = init(dir, { cwd: tmp });
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('finds the template from its own location, in the package root', () => {
    expect(packageRoot()).toBe(projectRoot);
  });

  it('writes every file of the template (gitignore as .gitignore), named after the directory', () => {
    const expected = filesUnder(join(projectRoot, TEMPLATE)).map((file) => file.replace(/(^|\/)gitignore$/, '$1.gitignore'));

    expect(result.name).toBe('my-orders-2');
    expect(result.files).toEqual([...expected].sort());
    expect(
      filesUnder(dir)
        .filter((file) => file !== 'node_modules')
        .sort(),
    ).toEqual([...expected].sort());
    for (const file of [
      'serverless.yml',
      'package.json',
      'README.md',
      'tsconfig.json',
      '.gitignore',
      'events/counter.json',
      'test/service.test.ts',
    ])
      expect(result.files).toContain(file);
    expect(result.next).toEqual([`cd "My Orders_2"`, 'npm install', 'npm start', 'npm test']);
  });

  it('fills every placeholder', () => {
    for (const file of result.files) expect(readFileSync(join(dir, file), 'utf8'), file).not.toMatch(/\{\{|\}\}/);
    expect(readFileSync(join(dir, 'test', 'cloud.ts'), 'utf8')).toContain("export const service = 'my-orders-2';");
    expect(readFileSync(join(dir, 'events', 'worker.json'), 'utf8')).toContain(':my-orders-2-local-jobs');
  });

  it('writes a package.json that depends on this fnmesh and pins what this repository pins', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    // The exact pins: peer dependencies are ranges, and the same packages are pinned among the others.
    const pins = { ...repoManifest.peerDependencies, ...repoManifest.dependencies, ...repoManifest.devDependencies };

    expect(manifest.name).toBe('my-orders-2');
    expect(manifest.type).toBe('module');
    expect(manifest.dependencies.fnmesh).toBe(repoManifest.version);
    expect(Object.keys(manifest.scripts)).toEqual(expect.arrayContaining(['start', 'test']));
    expect(manifest.scripts.start).toMatch(/^fnmesh local up && serverless deploy --stage local && /);
    for (const [name, version] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })) {
      if (name === 'fnmesh') continue;
      expect(version, name).toMatch(/^\d+\.\d+\.\d+$/);
      expect(version, `${name}: the starter pins what the repository pins`).toBe(pins[name]);
    }
  });

  it('writes a serverless.yml that osls reads: stages local and dev, the three functions, the table and the queue with its DLQ', async () => {
    const service = await readConfiguration(join(dir, 'serverless.yml'));

    expect(service.service).toBe('my-orders-2');
    expect(service.plugins).toEqual(['fnmesh/serverless-stage-guard', 'serverless-esbuild']);
    expect(Object.keys(service.params)).toEqual(['default', 'local']);
    expect(Object.keys(service.functions)).toEqual(['counter', 'submit', 'worker']);
    expect(service.functions.worker.events[0].sqs).toMatchObject({ functionResponseType: 'ReportBatchItemFailures' });
    const resources = service.resources.Resources;
    expect(resources.MeshTable.Type).toBe('AWS::DynamoDB::Table');
    expect(resources.JobsQueue.Properties.RedrivePolicy.deadLetterTargetArn).toEqual({ 'Fn::GetAtt': ['JobsDeadLetterQueue', 'Arn'] });
    for (const fn of Object.values<{ handler: string }>(service.functions))
      expect(existsSync(join(dir, fn.handler.replace(/\.handler$/, '.ts'))), fn.handler).toBe(true);
  });

  it('imports fnmesh only through its entry points, and only packages its package.json declares', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const declared = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.devDependencies), 'fnmesh/testing']);
    const sources = result.files.filter((file) => file.endsWith('.ts'));
    const specifiers = sources.flatMap((file) =>
      [...readFileSync(join(dir, file), 'utf8').matchAll(/\bfrom '([^']+)'/g)].map(([, specifier]) => ({ file, specifier: specifier! })),
    );

    expect(specifiers.length).toBeGreaterThan(20);
    for (const { file, specifier } of specifiers) {
      if (specifier.startsWith('node:')) continue;
      if (specifier.startsWith('.')) expect(relative(dir, join(dir, file, '..', specifier)), `${file}: ${specifier}`).not.toMatch(/^\.\./);
      else if (specifier === 'aws-lambda') expect(declared).toContain('@types/aws-lambda');
      else expect(declared, `${file} imports ${specifier}`).toContain(specifier.startsWith('vitest/') ? 'vitest' : specifier);
    }
    expect(specifiers.map(({ specifier }) => specifier)).toEqual(expect.arrayContaining(['fnmesh', 'fnmesh/testing']));
  });

  it('writes TypeScript that type-checks against fnmesh (functions and tests)', () => {
    // test/globalSetup.ts imports fnmesh/testing: checked below, once that entry point exists.
    const checked = existsSync(testingEntry)
      ? typeErrorsOnce()
      : typeErrorsOnce().filter((error) => !error.startsWith('test/globalSetup.ts:'));
    expect(checked).toEqual([]);
  }, 60_000);

  it.runIf(existsSync(testingEntry))(
    "type-checks test/globalSetup.ts against fnmesh/testing's local cloud helpers",
    () => {
      expect(typeErrorsOnce().filter((error) => error.startsWith('test/globalSetup.ts:'))).toEqual([]);
    },
    60_000,
  );

  it('refuses a directory that is not empty, and writes over it with force', () => {
    const taken = join(tmp, 'taken');
    mkdirSync(taken);
    writeFileSync(join(taken, 'notes.txt'), 'mine');

    expect(() => init(taken, { cwd: tmp })).toThrow(InitRefusedError);
    expect(readdirSync(taken)).toEqual(['notes.txt']);
    const forced = init(taken, { cwd: tmp, force: true, name: 'orders' });
    expect(readFileSync(join(taken, 'notes.txt'), 'utf8')).toBe('mine');
    expect(JSON.parse(readFileSync(join(taken, 'package.json'), 'utf8')).name).toBe('orders');
    expect(forced.files.length).toBe(result.files.length);
  });

  it('refuses a path that is a file, and an invalid service name', () => {
    writeFileSync(join(tmp, 'a-file'), '');

    expect(() => init(join(tmp, 'a-file'), { cwd: tmp })).toThrow(InitRefusedError);
    expect(() => init(join(tmp, 'fresh'), { cwd: tmp, name: 'Has Spaces' })).toThrow(/invalid service name/);
    expect(existsSync(join(tmp, 'fresh'))).toBe(false);
  });

  it('writes the fnmesh spec given, a relative file: path made absolute', () => {
    const fromTarball = init(join(tmp, 'from-tarball'), { cwd: tmp, fnmesh: 'file:../dist/fnmesh-0.1.0.tgz' });

    expect(fromTarball.fnmesh).toBe(`file:${join(tmp, '..', 'dist', 'fnmesh-0.1.0.tgz')}`);
    expect(JSON.parse(readFileSync(join(tmp, 'from-tarball', 'package.json'), 'utf8')).dependencies.fnmesh).toBe(fromTarball.fnmesh);
  });

  it('keeps package.json valid whatever the spec holds', () => {
    const odd = init(join(tmp, 'odd-spec'), { cwd: tmp, fnmesh: 'file:/tmp/a "quoted" \\ dir/fnmesh.tgz' });

    expect(JSON.parse(readFileSync(join(tmp, 'odd-spec', 'package.json'), 'utf8')).dependencies.fnmesh).toBe(odd.fnmesh);
  });

  it.each([
    ['my-service', 'my-service'],
    ['My Service_2', 'my-service-2'],
    ['2fast', 'fast'],
    ['___', 'fnmesh-service'],
    ['a'.repeat(60), 'a'.repeat(40)],
  ])('names the service of directory %s %s', (name, expected) => {
    expect(serviceNameOf(join(tmp, name))).toBe(expected);
  });
});
