/**
 * LocalStack in host mode: the pinned Python venv, the offline settings, and start/stop by pid.
 *
 * LocalStack runs here as a plain host process (no Docker engine), with fnmesh's plugin
 * (`infra/localstack/plugin`) providing the `process` Lambda executor and DynamoDB on moto.
 * Used by `fnmesh local ...` and `npm run local:*`, the test setup (testSetup.ts), the `fnmesh` CLI
 * (its endpoint, strict-mode status), bench, chaos and the fidelity runner (fidelity/run.ts).
 *
 * Two places matter: `packageRoot`, where the plugin, the pinned requirements and the Lambda SDK
 * manifests ship (this repository, or node_modules/fnmesh in a user's project; only read), and
 * `projectDir`, the project whose LocalStack this is (its `.localstack/` state, log and pid). The
 * venv and the Lambda SDK are built once per user in the cache (XDG_CACHE_HOME/fnmesh), shared by
 * every project.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** Where fnmesh's files ship: the folder that holds infra/localstack/plugin (up from this module, built or not). */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'infra', 'localstack', 'plugin', 'pyproject.toml'))) return dir;
    if (dirname(dir) === dir) throw new Error(`fnmesh: no infra/localstack/plugin above ${from} (an incomplete fnmesh package?)`);
  }
}

/**
 * The fnmesh package's root: this repository, or node_modules/fnmesh. LocalStack's plugin,
 * requirements and the Lambda SDK manifests are read from here (never written).
 */
export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
/** The repository's root, for the repository's own tools and tests (docs, bench, events): `packageRoot`. */
export const projectRoot = packageRoot;
/** infra/localstack's source files (plugin, requirements), in the package. */
const sourceDir = join(packageRoot, 'infra', 'localstack');
const pluginDir = join(sourceDir, 'plugin');

/**
 * The user's project: `FNMESH_PROJECT_DIR`, else the nearest folder up from the working directory
 * with a package.json (as npm finds it), else the working directory. Its LocalStack keeps its
 * state in `.localstack/` there.
 */
export function projectDirOf(environment: Record<string, string | undefined> = process.env, cwd = process.cwd()): string {
  if (environment.FNMESH_PROJECT_DIR) return resolve(cwd, environment.FNMESH_PROJECT_DIR);
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(cwd);
  }
}
export const projectDir = projectDirOf();

/** Where one LocalStack listens and keeps its state (log, pid, LocalStack's files). */
export interface LocalStackInstance {
  port: number;
  stateDir: string;
}

/**
 * The project's LocalStack port: 4566, or `FNMESH_LOCALSTACK_PORT` (lets two clones, or a clone and
 * a LocalStack test suite, each run their own LocalStack side by side).
 */
export const LOCALSTACK_PORT = Number(process.env.FNMESH_LOCALSTACK_PORT || 4566);
export const LOCALSTACK_ENDPOINT = `http://127.0.0.1:${LOCALSTACK_PORT}`;
/** Where a project's LocalStack on `port` keeps its state: `.localstack/` (port 4566) or `.localstack-<port>/`. */
export const stateDirOf = (dir: string, port: number) => join(dir, port === 4566 ? '.localstack' : `.localstack-${port}`);
/** The project's LocalStack: what `fnmesh local ...`, `npm run local:*`, `npm start` and the tests use. */
export const defaultInstance: LocalStackInstance = { port: LOCALSTACK_PORT, stateDir: stateDirOf(projectDir, LOCALSTACK_PORT) };

export const endpointOf = (instance: LocalStackInstance) => `http://127.0.0.1:${instance.port}`;
export const logFileOf = (instance: LocalStackInstance) => join(instance.stateDir, 'localstack.log');
const pidFileOf = (instance: LocalStackInstance) => join(instance.stateDir, 'localstack.pid');
export const logFile = logFileOf(defaultInstance);

/** Where LocalStack's process executor finds the AWS SDK it gives functions (see ensureLambdaSdk). */
const LAMBDA_SDK_VARIABLE = 'FNMESH_LAMBDA_SDK';

/** Services started (plus LocalStack's own dependencies of these). */
const SERVICES = 'sqs,lambda,dynamodb,dynamodbstreams,cloudformation,s3,iam,sts,logs,events,ssm,cloudwatch';

/**
 * Lines in LocalStack's log that mean a service failed to load, that LocalStack silently fell back
 * to something that needs Docker or a download, or that a strict-mode setting is malformed.
 * Start-up fails on any of them.
 */
export const FORBIDDEN_FALLBACKS: readonly RegExp[] = [
  /Falling back to "docker" runtime executor/,
  /Configured provider \(\S+\) does not exist/,
  /could not load service plugin/,
  /dynamodb-local|DynamoDBLocal/i,
  /Docker not available/,
  /kinesis-mock|KinesisMockService/i,
  /fnmesh strict: invalid setting/,
];

/**
 * Lines fnmesh's plugin logs when it is in use (see plugin/fnmesh_localstack/plugins.py). Ready
 * means both were seen: a LocalStack that quietly runs something else never counts as ready.
 */
export const PLUGIN_MARKERS: readonly string[] = [
  'fnmesh: Lambda functions run as host processes (process executor)',
  'fnmesh: DynamoDB is served by moto, operations serialized',
];

/** Everything LocalStack needs to run offline on a host; see README.md, "How LocalStack runs here (host mode)". */
export function localstackEnvironment(instance: LocalStackInstance = defaultInstance): Record<string, string> {
  return {
    GATEWAY_LISTEN: `127.0.0.1:${instance.port}`,
    LOCALSTACK_HOST: `127.0.0.1:${instance.port}`,
    SQS_ENDPOINT_STRATEGY: 'path',
    OVERRIDE_IN_DOCKER: '0',
    FILESYSTEM_ROOT: instance.stateDir,
    DNS_ADDRESS: '0',
    SKIP_SSL_CERT_DOWNLOAD: '1',
    DISABLE_EVENTS: '1',
    API_ENDPOINT: 'http://127.0.0.1:1',
    SERVICES,
    EAGER_SERVICE_LOADING: '1',
    LAMBDA_RUNTIME_EXECUTOR: 'process',
    PROVIDER_OVERRIDE_DYNAMODB: 'moto',
    // DynamoDB Streams over moto's tables (plugin/fnmesh_localstack/dynamodb_streams*.py), no Kinesis.
    PROVIDER_OVERRIDE_DYNAMODBSTREAMS: 'fnmesh',
    LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC: '1',
    // LocalStack waits this long after every poll that found records (default 1 s: one batch per
    // second per queue). AWS's pollers go straight on while a queue has work.
    LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC: '0.02',
    // Each SQS call's AWS/SQS metric is a second request through the gateway; nothing of fnmesh reads
    // them (plugin/fnmesh_localstack/fast_path.py). FNMESH_FAST_PATH=0 turns them back on.
    ...(fastPath() ? { SQS_DISABLE_CLOUDWATCH_METRICS: '1' } : {}),
    // Pollers per SQS event source mapping of a standard queue (plugin/fnmesh_localstack/
    // sqs_pollers.py): LocalStack runs one, which invokes a queue's batches one at a time; AWS
    // starts with five, so a queue's batches run side by side.
    FNMESH_SQS_POLLERS: '4',
    // LocalStack's calls to itself (event source pollers' receives and deletes, a function's logs
    // and metrics) go to its gateway directly instead of over HTTP through its server: an Invoke
    // cost the process 21.6 ms of CPU, now 14.7 ms.
    IN_MEMORY_CLIENT: '1',
  };
}

/** The plugin's per-call fast path (plugin/fnmesh_localstack/fast_path.py): on unless `FNMESH_FAST_PATH=0`. */
function fastPath(environment: Record<string, string | undefined> = process.env): boolean {
  const value = environment.FNMESH_FAST_PATH;
  return value === undefined || value.trim() === '' || isOn(value);
}

// --- strict mode -------------------------------------------------------------------------------

/**
 * Strict mode (docs/STRICT.md): LocalStack with AWS's transaction conflicts, hot-key throttling and
 * duplicate deliveries. On by default; `FNMESH_STRICT=0` in the caller's environment turns it off
 * (the other `FNMESH_STRICT_*` variables, which reach LocalStack from there too, tune it).
 */
const STRICT_SWITCH = 'FNMESH_STRICT';
const STRICT_MARKER = 'fnmesh strict: on';

/** What `GET /_fnmesh/strict` answers: the settings and how many of each adversity happened. */
export interface StrictStatus {
  enabled: boolean;
  settings: Record<string, number | boolean>;
  counts: Record<string, number>;
  /** The duplicates by where they happened: a queue's name, or a function's (its first 47 characters). */
  byResource?: Record<string, Record<string, number>>;
}

/** Strict mode's status, or undefined if nothing (or no fnmesh LocalStack) answers there. */
export function strictStatus(endpoint = LOCALSTACK_ENDPOINT, signal?: AbortSignal): Promise<StrictStatus | undefined> {
  return getJson<StrictStatus>(`${endpoint}/_fnmesh/strict`, signal);
}

/** A JSON answer to a GET within 2 s (and before `signal` aborts), or undefined (nothing answers, an error status, not JSON). */
async function getJson<T>(url: string, signal?: AbortSignal): Promise<T | undefined> {
  try {
    const timeout = AbortSignal.timeout(2000);
    const response = await fetch(url, { signal: signal ? AbortSignal.any([timeout, signal]) : timeout });
    return response.ok ? ((await response.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

/** Set to 1 to let `up()` reuse a LocalStack that is not fnmesh's (no plugin). */
const FOREIGN_SWITCH = 'FNMESH_FOREIGN_LOCALSTACK';

/** Strict mode unless `FNMESH_STRICT` says 0/false. */
export function strictByDefault(environment: Record<string, string | undefined> = process.env): boolean {
  const value = environment[STRICT_SWITCH];
  return value === undefined || value.trim() === '' || isOn(value);
}

const isOn = (value: string | undefined) => value !== undefined && ['1', 'true'].includes(value.trim().toLowerCase());

// --- the Python venv ------------------------------------------------------------------------------

function cacheRoot(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'fnmesh', 'localstack');
}

/**
 * A CPython >= 3.12 to build the venv from. LocalStack 2026.3.0 declares >= 3.10 but its code uses
 * 3.12 syntax (PEP 695 generics), so 3.11 fails at start-up. pyenv installs are searched too,
 * since pyenv shims hide versions that are not selected.
 */
function findPython(): string {
  const pyenvRoot = process.env.PYENV_ROOT || join(homedir(), '.pyenv');
  const pyenvVersions = existsSync(join(pyenvRoot, 'versions'))
    ? readdirSync(join(pyenvRoot, 'versions'))
        .filter((name) => /^3\.1[2-9]\.\d+$/.test(name))
        .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }))
        .map((name) => join(pyenvRoot, 'versions', name, 'bin', 'python3'))
    : [];
  const candidates = [process.env.FNMESH_PYTHON, 'python3.13', 'python3.12', ...pyenvVersions, 'python3'].filter(Boolean) as string[];
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['-c', 'import sys, venv; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    const [major, minor] = probe.stdout.trim().split('.').map(Number);
    if (major === 3 && minor! >= 12) return candidate;
  }
  throw new Error(
    'LocalStack 2026.3.0 needs CPython >= 3.12 with the venv module; none found among ' +
      `${candidates.join(', ')} (set FNMESH_PYTHON to the interpreter to use)`,
  );
}

function hashFiles(files: string[], extra = ''): string {
  const hash = createHash('sha256').update(extra);
  for (const file of files) hash.update(relative(sourceDir, file)).update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

function pluginFiles(dir = pluginDir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => !['build', '__pycache__', 'tests'].includes(entry.name) && !entry.name.endsWith('.egg-info'))
    .flatMap((entry) => (entry.isDirectory() ? pluginFiles(join(dir, entry.name)) : [join(dir, entry.name)]))
    .sort();
}

function run(command: string, args: string[], what: string): void {
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${what} failed (${command} ${args.join(' ')} exited with ${result.status ?? result.signal})`);
}

/** Runs pip, showing one short line per package instead of pip's full output. */
async function pipInstall(python: string, args: string[], log: (line: string) => void): Promise<void> {
  const child = spawn(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let collected = 0;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    output.push(line);
    const name = /^Collecting (\S+)/.exec(line)?.[1];
    if (name) log(`  [${++collected}] ${name}`);
    else if (line.startsWith('Installing collected packages')) log(`  installing ${collected} packages...`);
  });
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  if (code !== 0) throw new Error(`pip install failed (exit ${code}):\n${output.slice(-30).join('\n')}`);
}

/**
 * Builds `target` once, in a directory of this process's own that is then moved into place; if
 * another process (another clone) finished the same target meanwhile, theirs is as good as ours.
 */
async function buildOnce(target: string, build: (partial: string) => void | Promise<void>): Promise<void> {
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  await build(partial);
  if (existsSync(target)) rmSync(partial, { recursive: true, force: true });
  else renameSync(partial, target);
}

/**
 * The venv with pinned LocalStack and fnmesh's plugin, created on first use in a per-user cache
 * directory keyed by the hash of the requirements, so later runs and other clones reuse it.
 * @returns the venv's python executable
 */
export async function ensureVenv(log: (line: string) => void = console.error): Promise<string> {
  const python = findPython();
  const version = spawnSync(python, ['-c', 'import sys; print(sys.version)'], { encoding: 'utf8' }).stdout.trim();
  const requirements = join(sourceDir, 'requirements.txt');
  const constraints = join(sourceDir, 'constraints.txt');
  const key = hashFiles([requirements, constraints], version);
  const venv = join(cacheRoot(), `venv-${key}`);
  const venvPython = join(venv, 'bin', 'python');

  if (!existsSync(venvPython)) {
    log(`fnmesh: creating the LocalStack venv (first run only, a minute or two) in ${venv}`);
    const started = Date.now();
    await buildOnce(venv, async (partial) => {
      run(python, ['-m', 'venv', partial], 'creating the venv');
      await pipInstall(join(partial, 'bin', 'python'), ['-c', constraints, '-r', requirements], log);
    });
    log(`fnmesh: LocalStack venv ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }

  // The plugin is reinstalled whenever its source changes (a second, cheap, layer). pip builds a
  // source tree in place (build/, *.egg-info): it builds a copy in the cache, so that the package
  // (node_modules/fnmesh, maybe read-only) is only ever read.
  const files = pluginFiles();
  const stamp = join(venv, `.fnmesh-plugin-${hashFiles(files)}`);
  if (!existsSync(stamp)) {
    log('fnmesh: installing the fnmesh LocalStack plugin into the venv');
    for (const old of readdirSync(venv).filter((name) => name.startsWith('.fnmesh-plugin-'))) rmSync(join(venv, old));
    const copy = join(cacheRoot(), `plugin-build-${process.pid}`);
    rmSync(copy, { recursive: true, force: true });
    try {
      for (const file of files) {
        const target = join(copy, relative(pluginDir, file));
        mkdirSync(dirname(target), { recursive: true });
        copyFileSync(file, target);
      }
      await pipInstall(venvPython, ['--quiet', '--no-deps', '--no-build-isolation', '--force-reinstall', copy], log);
      // plux (LocalStack's plugin loader) caches entry points under a key of file mtimes; seen to
      // keep the old list on the first start after a reinstall, so a new hook went unloaded once.
      rmSync(join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'plux'), { recursive: true, force: true });
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
    writeFileSync(stamp, new Date().toISOString());
  }
  return venvPython;
}

/**
 * The AWS SDK that Lambda functions find on their module path, as AWS's nodejs runtimes provide it
 * in /var/runtime/node_modules: `lambda-sdk/v3` (a pinned set of SDK v3 clients, nodejs18.x and
 * later) and `lambda-sdk/v2` (SDK v2, nodejs16.x and older), each installed with `npm ci` once per
 * hash of the lock files, beside the venv. LocalStack's process executor is told where by
 * `FNMESH_LAMBDA_SDK` and puts the right one on a function's NODE_PATH (its own copy still wins).
 * @returns the directory holding `v3/node_modules` and `v2/node_modules`
 */
export async function ensureLambdaSdk(log: (line: string) => void = console.error): Promise<string> {
  const source = join(sourceDir, 'lambda-sdk');
  const sets = ['v3', 'v2'];
  const files = sets.flatMap((set) => ['package.json', 'package-lock.json'].map((file) => join(source, set, file)));
  const target = join(cacheRoot(), `lambda-sdk-${hashFiles(files)}`);
  if (!existsSync(target)) {
    log(`fnmesh: installing the AWS SDK that Lambda functions get from their runtime (first run only) in ${target}`);
    await buildOnce(target, (partial) => {
      for (const set of sets) {
        mkdirSync(join(partial, set), { recursive: true });
        for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(source, set, file), join(partial, set, file));
        const npmArgs = ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'];
        run('npm', [...npmArgs, '--prefix', join(partial, set)], `installing the Lambda runtime's SDK (${set})`);
      }
    });
  }
  return target;
}

/**
 * A venv for a Python tool the tests or the fidelity runner use (e.g. cfn-lint), from a pinned
 * requirements file (and optional constraints): built once in the per-user cache, keyed by the
 * files' hash, like LocalStack's. Run its tools as
 * `python -m <module>`: the venv is built under another name and moved, which breaks scripts' #!.
 * @returns the venv's python executable
 */
export async function ensureToolVenv(
  name: string,
  requirements: string,
  log: (line: string) => void = console.error,
  /** A pip constraints file installed with it (and part of the key), e.g. LocalStack's `constraints.txt`. */
  constraints?: string,
): Promise<string> {
  const python = findPython();
  const venv = join(cacheRoot(), '..', 'tools', `${name}-${hashFiles(constraints ? [requirements, constraints] : [requirements])}`);
  const venvPython = join(venv, 'bin', 'python');
  if (!existsSync(venvPython)) {
    log(`fnmesh: creating the ${name} venv (first run only) in ${venv}`);
    await buildOnce(venv, async (partial) => {
      run(python, ['-m', 'venv', partial], `creating the ${name} venv`);
      await pipInstall(join(partial, 'bin', 'python'), ['--quiet', ...(constraints ? ['-c', constraints] : []), '-r', requirements], log);
    });
  }
  return venvPython;
}

// --- start, stop, status ----------------------------------------------------------------------------

export interface Health {
  services: Record<string, string>;
  version?: string;
}

export function health(endpoint = LOCALSTACK_ENDPOINT): Promise<Health | undefined> {
  return getJson<Health>(`${endpoint}/_localstack/health`);
}

function isLocalStackProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('localstack.runtime.main');
  } catch {
    return false;
  }
}

/** The pid of the LocalStack this project started, if it is still running. */
export function runningPid(instance: LocalStackInstance = defaultInstance): number | undefined {
  const pidFile = pidFileOf(instance);
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && isLocalStackProcess(pid) ? pid : undefined;
}

export function logTail(lines = 40, instance: LocalStackInstance = defaultInstance): string {
  const file = logFileOf(instance);
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

export class LocalStackStartError extends Error {
  override name = 'LocalStackStartError';
}

export interface UpResult {
  started: boolean;
  pid: number | undefined;
  endpoint: string;
  seconds: number;
}

export interface UpOptions {
  timeoutMs?: number;
  log?: (line: string) => void;
  instance?: LocalStackInstance;
  /** Extra settings on top of `localstackEnvironment()` (tests use it to provoke failures). */
  environment?: Record<string, string>;
  /**
   * Strict mode on (true) or off (false); a running LocalStack is reused only if its mode is this
   * one. Undefined: what `FNMESH_STRICT` says, on if it is unset (`strictByDefault`).
   */
  strict?: boolean;
}

/**
 * Starts LocalStack (by default on 127.0.0.1:LOCALSTACK_PORT) and waits until it is ready. Idempotent: if
 * fnmesh's LocalStack already answers there, it is reused; any other LocalStack only with
 * `FNMESH_FOREIGN_LOCALSTACK=1` (tests and demos rely on fnmesh's plugin).
 * @throws LocalStackStartError with the log tail when it does not come up cleanly
 */
export async function up(options: UpOptions = {}): Promise<UpResult> {
  const { log = console.error, instance = defaultInstance, timeoutMs = 120_000 } = options;
  const endpoint = endpointOf(instance);
  const logFile = logFileOf(instance);
  const startedAt = Date.now();
  const environment = { ...process.env, ...localstackEnvironment(instance), ...options.environment };
  const strict = options.strict ?? strictByDefault(environment);
  environment[STRICT_SWITCH] = strict ? '1' : '0';
  if (await health(endpoint)) {
    const running = await strictStatus(endpoint);
    if (!running && !isOn(process.env[FOREIGN_SWITCH]))
      throw new LocalStackStartError(
        `a LocalStack answers at ${endpoint}, but not fnmesh's (its plugin's /_fnmesh/strict does not answer): ` +
          `stop it, or set ${FOREIGN_SWITCH}=1 to use it as it is (a Docker LocalStack, say: no process executor, no strict mode)`,
      );
    if (running && running.enabled !== strict)
      throw new LocalStackStartError(
        `the LocalStack at ${endpoint} runs with strict mode ${running.enabled ? 'on' : 'off'}, but strict mode ` +
          `${strict ? 'on' : 'off'} was asked for${options.strict === undefined ? ` (${STRICT_SWITCH}=${environment[STRICT_SWITCH] === '1' ? '1 or unset' : '0'})` : ''}: ` +
          `stop it first (npm run local:down)${strict ? `, or set ${STRICT_SWITCH}=0 to work without strict mode` : ''}`,
      );
    return { started: false, pid: runningPid(instance), endpoint, seconds: 0 };
  }

  const python = await ensureVenv(log);
  environment[LAMBDA_SDK_VARIABLE] ??= await ensureLambdaSdk(log);
  mkdirSync(instance.stateDir, { recursive: true });
  const out = openSync(logFile, 'w');
  const child = spawn(python, ['-m', 'localstack.runtime.main'], {
    cwd: instance.stateDir,
    env: environment,
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  child.unref();
  writeFileSync(pidFileOf(instance), String(child.pid));
  log(`fnmesh: starting LocalStack (pid ${child.pid})${strict ? ' in strict mode' : ''}, log in ${relative(process.cwd(), logFile)}`);

  const deadline = Date.now() + timeoutMs;
  const fail = async (reason: string): Promise<never> => {
    // A LocalStack that fails mid-start often ignores SIGTERM: a short grace, then SIGKILL.
    await down({ quiet: true, instance, graceMs: 3000 });
    throw new LocalStackStartError(`LocalStack did not start: ${reason}\n--- last lines of ${logFile} ---\n${logTail(40, instance)}`);
  };
  while (Date.now() < deadline) {
    const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    const fallback = FORBIDDEN_FALLBACKS.find((pattern) => pattern.test(text));
    if (fallback)
      return fail(`a service failed to load or fell back to something that needs Docker or a download (log matched ${fallback})`);
    if (child.exitCode !== null || !isLocalStackProcess(child.pid!)) return fail(`the process exited (code ${child.exitCode})`);
    if (/^Ready\.$/m.test(text) && (await health(endpoint))) {
      const missing = [...PLUGIN_MARKERS, ...(strict ? [STRICT_MARKER] : [])].filter((marker) => !text.includes(marker));
      if (missing.length) return fail(`fnmesh's LocalStack plugin is not in use (no "${missing.join('", "')}" in the log)`);
      return { started: true, pid: child.pid, endpoint, seconds: (Date.now() - startedAt) / 1000 };
    }
    await sleep(250);
  }
  return fail(`not ready after ${timeoutMs / 1000} s`);
}

export interface DownOptions {
  quiet?: boolean;
  log?: (line: string) => void;
  instance?: LocalStackInstance;
  /** How long to wait after SIGTERM before SIGKILL. */
  graceMs?: number;
}

/** Stops the LocalStack this project started, by its recorded pid (never by process name). */
export async function down(options: DownOptions = {}): Promise<boolean> {
  const { log = console.error, instance = defaultInstance, graceMs = 20_000 } = options;
  const pid = runningPid(instance);
  if (pid === undefined) {
    rmSync(pidFileOf(instance), { force: true });
    if (!options.quiet) log(`fnmesh: no LocalStack started by this project (${dirname(instance.stateDir)}) is running`);
    return false;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isLocalStackProcess(pid) && Date.now() < deadline) await sleep(200);
  if (isLocalStackProcess(pid)) {
    log(`fnmesh: LocalStack (pid ${pid}) did not stop within ${graceMs / 1000} s, killing it`);
    process.kill(pid, 'SIGKILL');
  }
  rmSync(pidFileOf(instance), { force: true });
  if (!options.quiet) log(`fnmesh: LocalStack (pid ${pid}) stopped`);
  return true;
}

/** What `fnmesh local status` reports about a project's LocalStack. */
export interface LocalStatus {
  endpoint: string;
  /** Something answers LocalStack's health check there. */
  running: boolean;
  /** It is fnmesh's LocalStack (its plugin answers); false for another LocalStack, or none. */
  fnmesh: boolean;
  /** Its pid (null if unknown: no /proc to look in, another user's, or nothing runs). */
  pid: number | null;
  /** Whether this project started it (then `fnmesh local down` here stops it). */
  startedHere: boolean;
  /** The project it was started from (its state's parent folder), if known. */
  startedIn: string | null;
  /** Strict mode on or off; null if nothing (or not fnmesh's LocalStack) answers. */
  strict: boolean | null;
  version: string | null;
  uptimeSeconds: number | null;
  /** Each service's state (`running`, `available`, ...), from the health check. */
  services: Record<string, string>;
  projectDir: string;
  stateDir: string;
  logFile: string;
}

/**
 * The LocalStack host process of this user that listens on `port`, found in /proc (Linux): its
 * pid, state folder and start time. Undefined where there is no /proc, or none is found.
 */
function serving(port: number): { pid: number; stateDir: string | undefined; startedAt: number | undefined } | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  const bootTime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
  for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    const pid = Number(name);
    let environment: string[];
    try {
      if (!isLocalStackProcess(pid)) continue;
      environment = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!environment.includes(`GATEWAY_LISTEN=127.0.0.1:${port}`)) continue;
    const stateDir = environment.find((entry) => entry.startsWith('FILESYSTEM_ROOT='))?.slice('FILESYSTEM_ROOT='.length);
    // Field 22 of /proc/<pid>/stat: the start, in clock ticks (USER_HZ, 100) after boot.
    const ticks = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19]);
    const startedAt = Number.isFinite(bootTime) && Number.isFinite(ticks) ? (bootTime + ticks / 100) * 1000 : undefined;
    return { pid, stateDir, startedAt };
  }
  return undefined;
}

/**
 * The project's LocalStack: does it answer, in which mode, since when, started by whom. (Not
 * LocalStack's `/_localstack/info`: answering it, LocalStack probes for Docker.)
 */
export async function localStatus(instance: LocalStackInstance = defaultInstance): Promise<LocalStatus> {
  const endpoint = endpointOf(instance);
  const [answer, strict] = await Promise.all([health(endpoint), strictStatus(endpoint)]);
  const own = answer ? runningPid(instance) : undefined;
  const found = answer ? serving(instance.port) : undefined;
  const startedAt = found?.startedAt ?? (own !== undefined ? statSync(pidFileOf(instance)).mtimeMs : undefined);
  const stateDir = own !== undefined ? instance.stateDir : found?.stateDir;
  return {
    endpoint,
    running: answer !== undefined,
    fnmesh: strict !== undefined,
    pid: own ?? found?.pid ?? null,
    startedHere: own !== undefined,
    startedIn: stateDir ? dirname(stateDir) : null,
    strict: strict?.enabled ?? null,
    version: answer?.version ?? null,
    uptimeSeconds: startedAt === undefined ? null : Math.max(0, Math.round((Date.now() - startedAt) / 1000)),
    services: answer?.services ?? {},
    projectDir: dirname(instance.stateDir),
    stateDir: instance.stateDir,
    logFile: logFileOf(instance),
  };
}

/**
 * Prints the last `lines` lines of the project's LocalStack log, and with `follow` keeps printing
 * what is appended (as `tail -f`) until the process is interrupted.
 * @returns false if there is no log yet
 */
export async function showLog(
  options: { lines?: number; follow?: boolean; instance?: LocalStackInstance; write?: (text: string) => void } = {},
): Promise<boolean> {
  const { lines = 200, follow = false, instance = defaultInstance, write = (text) => process.stdout.write(text) } = options;
  const file = logFileOf(instance);
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  write(
    `${text
      .split('\n')
      .slice(-lines - 1)
      .join('\n')}`,
  );
  if (!follow) return true;
  let offset = Buffer.byteLength(text);
  for (;;) {
    await sleep(250);
    const size = existsSync(file) ? statSync(file).size : 0;
    if (size < offset) offset = 0; // a new LocalStack started: its log begins again
    if (size === offset) continue;
    const fd = openSync(file, 'r');
    const chunk = Buffer.alloc(size - offset);
    readSync(fd, chunk, 0, chunk.length, offset);
    closeSync(fd);
    offset = size;
    write(chunk.toString('utf8'));
  }
}
