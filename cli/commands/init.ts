/**
 * `fnmesh init <dir>`: writes the starter service (templates/starter) into a directory, with its
 * name and the fnmesh it depends on filled in, and says what to run next.
 *
 * The template ships inside the fnmesh package, so it is found relative to the package root (the
 * directory of fnmesh's package.json: this repository, or node_modules/fnmesh), from this
 * module's own location — whether it runs as TypeScript (cli/commands/) or built (dist/cli/commands/).
 * Placeholders in the template's files: `{{name}}` (the service's name) and `{{fnmesh}}` (the
 * dependency spec of fnmesh: this package's own version, or what `--fnmesh` gives).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the starter lives inside the package. */
export const TEMPLATE = join('templates', 'starter');

/** Files stored under another name in the template: npm pack leaves `.gitignore` files out. */
const RENAMED: Readonly<Record<string, string>> = { gitignore: '.gitignore' };

/** Never copied, should the template directory hold them (someone ran the starter in place). */
const SKIPPED = new Set(['node_modules', '.serverless', '.esbuild', '.localstack', 'package-lock.json']);

const PLACEHOLDER = /\{\{(\w+)\}\}/g;

/** A service name: lower-case letters, digits and hyphens, starting with a letter, at most 40 long
 * (Lambda function names `<service>-<stage>-<function>` must stay within 64 characters). */
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,39}$/;

export class InitRefusedError extends Error {
  override name = 'InitRefusedError';
}

export interface InitOptions {
  /** The service's name (package.json, serverless.yml). @default derived from the directory's name */
  name?: string;
  /**
   * The dependency spec of fnmesh written into package.json: a version, a range, or `file:<path>`
   * (a relative path is taken from the current directory and written as an absolute one).
   * @default this package's own version, exactly
   */
  fnmesh?: string;
  /** Write into a directory that is not empty (the template's files are overwritten). @default false */
  force?: boolean;
  /** Where relative paths start. @default process.cwd() */
  cwd?: string;
  /** The fnmesh package whose template is used. @default the package this module belongs to */
  packageRoot?: string;
}

export interface InitResult {
  dir: string;
  name: string;
  fnmesh: string;
  /** The files written, relative to `dir`, sorted. */
  files: string[];
  /** What to run next, one command a line. */
  next: string[];
}

/**
 * The fnmesh package this module belongs to: the nearest directory above it whose package.json
 * is fnmesh's and which holds the template.
 */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && existsSync(join(dir, TEMPLATE)) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'fnmesh') return dir;
    if (dirname(dir) === dir) throw new Error(`fnmesh's package root (with ${TEMPLATE}) not found above ${from}`);
  }
}

/** A service name from a directory's name: `My Service_2` → `my-service-2`. */
export function serviceNameOf(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return name || 'fnmesh-service';
}

/** The fnmesh dependency spec: `file:` paths made absolute (package.json is read from elsewhere). */
export function fnmeshSpecOf(spec: string, cwd: string): string {
  if (!spec.startsWith('file:')) return spec;
  const path = spec.slice('file:'.length);
  return `file:${isAbsolute(path) ? path : resolve(cwd, path)}`;
}

function templateFiles(root: string, under = ''): string[] {
  return readdirSync(join(root, under), { withFileTypes: true })
    .filter((entry) => !SKIPPED.has(entry.name))
    .flatMap((entry) => {
      const path = under ? join(under, entry.name) : entry.name;
      return entry.isDirectory() ? templateFiles(root, path) : [path];
    });
}

/** Fills `{{placeholder}}`s; one the template has and `values` lacks is a bug in the template. */
export function fill(text: string, values: Readonly<Record<string, string>>, file: string): string {
  return text.replace(PLACEHOLDER, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`template ${file}: unknown placeholder ${whole}`);
    // Inside a JSON string (package.json, events): escaped, so a path with a quote stays valid JSON.
    return file.endsWith('.json') ? JSON.stringify(value).slice(1, -1) : value;
  });
}

/**
 * Writes the starter into `dir` (created if missing).
 * @throws InitRefusedError if `dir` is not empty (without `force`) or not a directory, or the name is invalid
 */
export function init(dir: string, options: InitOptions = {}): InitResult {
  const cwd = options.cwd ?? process.cwd();
  const target = resolve(cwd, dir);
  const root = options.packageRoot ?? packageRoot();
  const name = options.name ?? serviceNameOf(target);
  if (!SERVICE_NAME.test(name))
    throw new InitRefusedError(
      `invalid service name "${name}": lower-case letters, digits and hyphens, starting with a letter, at most 40`,
    );
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new InitRefusedError(`${target} exists and is not a directory`);
    if (readdirSync(target).length > 0 && !options.force)
      throw new InitRefusedError(
        `${target} is not empty: choose an empty or new directory, or pass --force to write the starter's files over it`,
      );
  }
  const version: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const fnmesh = fnmeshSpecOf(options.fnmesh ?? version, cwd);
  const template = join(root, TEMPLATE);
  const files: string[] = [];
  for (const file of templateFiles(template)) {
    const written = join(dirname(file), RENAMED[basename(file)] ?? basename(file));
    mkdirSync(dirname(join(target, written)), { recursive: true });
    writeFileSync(join(target, written), fill(readFileSync(join(template, file), 'utf8'), { name, fnmesh }, file));
    files.push(written);
  }
  const from = relative(cwd, target);
  const where = from === '' ? '.' : from.startsWith('..') ? target : from;
  const next = [
    ...(where === '.' ? [] : [`cd ${/^[\w./-]+$/.test(where) ? where : JSON.stringify(where)}`]),
    'npm install',
    'npm start',
    'npm test',
  ];
  return { dir: target, name, fnmesh, files: files.sort(), next };
}
