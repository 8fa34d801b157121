/**
 * The local cloud for a project's test suites (vitest's globalSetup, node:test's before/after, or
 * any script): `startLocalCloud()` brings the project's LocalStack up in host mode (or reuses the
 * one that answers) and `stopLocalCloud()` stops it again, but only if it was started here.
 * `deployToLocalCloud()` runs the project's `serverless deploy --stage local` against it.
 *
 *   // vitest.config.ts: test: { globalSetup: ['./test/localCloud.ts'] }
 *   // test/localCloud.ts
 *   export { startLocalCloud as default } from 'fnmesh/testing';
 *
 *   // node:test
 *   before(() => startLocalCloud());
 *   after(() => stopLocalCloud());
 */
import { serverless } from '../serverless/cli.ts';
import { localClientConfig } from './clients.ts';
import { down, endpointOf, LOCALSTACK_PORT, type LocalStackInstance, projectDirOf, stateDirOf, up } from './localstack.ts';

export interface LocalCloudOptions {
  /** The port (default: `FNMESH_LOCALSTACK_PORT`, else 4566). */
  port?: number;
  /** The project whose LocalStack it is: its state goes to `.localstack/` there (default: as `fnmesh local`). */
  projectDir?: string;
  /** Strict mode (default: on unless `FNMESH_STRICT=0`). */
  strict?: boolean;
  /** How long to wait for LocalStack to be ready (default 120 s; the first run also builds the venv). */
  timeoutMs?: number;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  /**
   * Point this process and the test workers it starts at the local cloud (default true):
   * `AWS_ENDPOINT_URL`, `AWS_REGION` (if unset), the dummy credentials LocalStack takes,
   * `FNMESH_LOCALSTACK_PORT`. Undone by the teardown.
   */
  setEnvironment?: boolean;
}

/**
 * A running local cloud; called (as vitest calls a globalSetup's answer) it is the teardown: it
 * stops LocalStack if this call started it, and restores the environment.
 */
export interface LocalCloud {
  (): Promise<void>;
  endpoint: string;
  port: number;
  /** Whether this call started LocalStack (false: one already answered, and is left running). */
  started: boolean;
  pid: number | undefined;
  /** Seconds it took to start (0 if reused). */
  seconds: number;
  /** The variables that point tools and SDKs at it (what `setEnvironment` sets). */
  environment: Record<string, string>;
}

/** Clouds started by this module in this process, which `stopLocalCloud()` stops. */
const running = new Set<LocalCloud>();

/**
 * Only plain objects are options: vitest calls a globalSetup with its project object, which is
 * then ignored (the defaults apply).
 */
function optionsOf(value: unknown): LocalCloudOptions {
  if (typeof value !== 'object' || value === null) return {};
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null ? (value as LocalCloudOptions) : {};
}

/** Starts the project's LocalStack (or reuses the one that answers); returns it, callable as the teardown. */
export async function startLocalCloud(options?: LocalCloudOptions): Promise<LocalCloud> {
  const {
    port = LOCALSTACK_PORT,
    projectDir = projectDirOf(),
    strict,
    timeoutMs,
    log = console.error,
    setEnvironment = true,
  } = optionsOf(options);
  const instance: LocalStackInstance = { port, stateDir: stateDirOf(projectDir, port) };
  const result = await up({ instance, log, ...(strict === undefined ? {} : { strict }), ...(timeoutMs ? { timeoutMs } : {}) });
  const endpoint = endpointOf(instance);
  const { region, credentials } = localClientConfig({ endpoint });
  const environment: Record<string, string> = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: process.env.AWS_REGION ?? region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    FNMESH_LOCALSTACK_PORT: String(port),
  };
  const saved = Object.fromEntries(
    ['AWS_SESSION_TOKEN', 'AWS_PROFILE', ...Object.keys(environment)].map((name) => [name, process.env[name]]),
  );
  if (setEnvironment) {
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    Object.assign(process.env, environment);
  }
  let stopped = false;
  const cloud = Object.assign(
    async () => {
      if (stopped) return;
      stopped = true;
      running.delete(cloud);
      if (setEnvironment)
        for (const [name, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      if (result.started) await down({ instance, log });
    },
    { endpoint, port, started: result.started, pid: result.pid, seconds: result.seconds, environment },
  ) as LocalCloud;
  running.add(cloud);
  log(
    result.started
      ? `fnmesh: local cloud ready at ${endpoint} in ${result.seconds.toFixed(1)} s`
      : `fnmesh: local cloud already up at ${endpoint}: reusing it (left running afterwards)`,
  );
  return cloud;
}

/** Stops `cloud`, or every local cloud started by `startLocalCloud` in this process; one it only reused is left running. */
export async function stopLocalCloud(cloud?: LocalCloud): Promise<void> {
  for (const each of cloud ? [cloud] : [...running]) await each();
}

export interface DeployOptions {
  /** The service's folder (default: the project's). */
  cwd?: string;
  /** The stage (default `local`). */
  stage?: string;
  /** More arguments for `serverless deploy`. */
  args?: string[];
  /** The local cloud to deploy to (default: the project's, at `FNMESH_LOCALSTACK_PORT` or 4566). */
  endpoint?: string;
}

/**
 * `serverless deploy --stage local` of the project's serverless.yml (its own osls, from
 * node_modules/.bin) against the local cloud: AWS_ENDPOINT_URL and LocalStack's dummy credentials,
 * so the serverless.yml needs no plugin for it.
 * @returns osls's output
 * @throws with osls's output if the deploy fails
 */
export async function deployToLocalCloud(options: DeployOptions = {}): Promise<string> {
  const { cwd = projectDirOf(), stage = 'local', args = [], endpoint = endpointOf({ port: LOCALSTACK_PORT, stateDir: '' }) } = options;
  const { region, credentials } = localClientConfig({ endpoint });
  const { code, stdout, stderr } = await serverless(
    ['deploy', '--stage', stage, ...args],
    {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: process.env.AWS_REGION ?? region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
    },
    cwd,
  );
  if (code !== 0) throw new Error(`serverless deploy --stage ${stage} failed in ${cwd}:\n${stdout}\n${stderr}`);
  return `${stdout}${stderr}`;
}
