/**
 * The package as a user gets it: `npm pack` of this repository (prepack builds dist/) into a
 * temporary folder, and installing that tarball into a fresh project outside the repository, with
 * the AWS SDK clients and the TypeScript pinned in package.json (from npm's cache when it has
 * them, else the registry).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../infra/localstack/localstack.ts';
import { withProcessLock } from '../../infra/processLock.ts';
import { testRunDir } from './testRun.ts';

export interface PackedFile {
  path: string;
  size: number;
}

export interface Packed {
  /** Absolute path of the .tgz. */
  tarball: string;
  /** What the tarball holds, as `npm pack --json` lists it. */
  files: PackedFile[];
  /** Gzipped size in bytes. */
  size: number;
}

const manifest = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

/** `name@version` as this repository pins it (devDependencies). */
export function pinned(name: string): string {
  const version = manifest.devDependencies[name];
  if (!version) throw new Error(`${name} is not pinned in package.json's devDependencies`);
  return `${name}@${version}`;
}

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
  });
}

/**
 * The repository packed once per test run and shared by the files that install it: `npm pack`
 * runs prepack, which rebuilds dist/, so two packs at once would build under each other.
 */
export async function packedFnmesh(): Promise<Packed> {
  const destination = join(testRunDir(), 'pack');
  const description = join(destination, 'packed.json');
  await withProcessLock(`npm-pack:${projectRoot}`, async () => {
    if (existsSync(description)) return;
    mkdirSync(destination, { recursive: true });
    const output = npm(['pack', '--json', '--pack-destination', destination], projectRoot);
    // prepack's own output (the build) may precede the JSON document on stdout.
    const [entry] = JSON.parse(output.slice(output.search(/^\[/m))) as {
      filename: string;
      files: PackedFile[];
      size: number;
    }[];
    const packed: Packed = { tarball: join(destination, entry!.filename), files: entry!.files, size: entry!.size };
    writeFileSync(description, JSON.stringify(packed));
  });
  return JSON.parse(readFileSync(description, 'utf8')) as Packed;
}

/** A fresh project (outside the repository) with the tarball and `extra` packages installed. */
export function installPacked(tarball: string, extra: string[]): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'fnmesh-consumer-')), 'app');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'app', private: true, type: 'module' }, null, 2)}\n`);
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...extra], dir);
  return dir;
}
