/**
 * `fnmesh local up | down | status | logs | env`: the project's local cloud, LocalStack in host
 * mode with fnmesh's plugin (infra/localstack/localstack.ts), for any Serverless service. State
 * lives in the project (`.localstack/`, or `.localstack-<port>/` with `FNMESH_LOCALSTACK_PORT`);
 * the venv is shared by all projects in the user's cache. Strict mode is on unless `--no-strict`
 * or `FNMESH_STRICT=0`.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { down, LOCALSTACK_ENDPOINT, localStatus, type LocalStatus, showLog, up } from '../../infra/localstack/localstack.ts';
import { localClientConfig } from '../../infra/localstack/clients.ts';
import { output } from '../output.ts';

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a positive integer');
  return parsed;
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The variables that point the AWS CLI, osls and the SDKs at the local cloud (`fnmesh local env`). */
export function localEnvironment(endpoint: string): Record<string, string> {
  const { region, credentials } = localClientConfig({ endpoint });
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  };
}

function describe(status: LocalStatus): string[] {
  if (!status.running) return [`LocalStack: not running (would listen at ${status.endpoint}; state in ${status.stateDir})`];
  const running = Object.values(status.services).filter((state) => state === 'running').length;
  return [
    `LocalStack: up at ${status.endpoint}${status.version ? ` (${status.version})` : ''}`,
    `  fnmesh plugin: ${status.fnmesh ? 'yes' : 'no (another LocalStack: no process executor, no strict mode)'}`,
    `  strict mode:   ${status.strict === null ? '-' : status.strict ? 'on' : 'off'}`,
    `  pid:           ${status.pid ?? '-'}${status.startedHere ? ' (started from this project)' : status.startedIn ? ` (started from ${status.startedIn})` : ''}`,
    `  uptime:        ${status.uptimeSeconds === null ? '-' : duration(status.uptimeSeconds)}`,
    `  health:        ${running} services running, ${Object.keys(status.services).length} known`,
    `  log:           ${status.logFile}`,
  ];
}

/** Adds `local` and its subcommands to the program; `json()` says whether `--json` was given. */
export function registerLocal(program: Command, json: () => boolean): Command {
  const local = program
    .command('local')
    .description("the project's local cloud: LocalStack in host mode (no Docker) for any Serverless service");

  local
    .command('up')
    .description("start LocalStack in host mode with fnmesh's plugin (idempotent; state in .localstack/)")
    .option('--strict', "strict mode (the default): AWS's transaction conflicts, throttling and duplicate deliveries")
    .option('--no-strict', 'strict mode off (as FNMESH_STRICT=0)')
    .action(async (options: { strict?: boolean }) => {
      const out = output(json());
      const result = await up({ log: (line) => out.say(line), ...(options.strict === undefined ? {} : { strict: options.strict }) });
      out.result(result, () =>
        out.say(
          result.started
            ? `LocalStack ready at ${result.endpoint} (pid ${result.pid}) in ${result.seconds.toFixed(1)} s`
            : `LocalStack already up at ${result.endpoint}${result.pid ? ` (pid ${result.pid})` : ' (started from another project)'}`,
        ),
      );
    });

  local
    .command('down')
    .description('stop the LocalStack this project started (by its pid)')
    .action(async () => {
      const out = output(json());
      const stopped = await down({ log: (line) => out.say(line) });
      out.result({ stopped }, () => {});
    });

  local
    .command('status')
    .description('endpoint, pid, strict mode, uptime and health of the local cloud')
    .action(async () => {
      const out = output(json());
      const status = await localStatus();
      out.result(status, () => describe(status).forEach((line) => out.say(line)));
    });

  local
    .command('logs')
    .description("LocalStack's log (the last lines; -f to follow)")
    .option('-n, --lines <n>', 'how many lines', positiveInteger, 200)
    .option('-f, --follow', 'keep printing what is appended', false)
    .action(async (options: { lines: number; follow: boolean }) => {
      const shown = await showLog({ lines: options.lines, follow: options.follow });
      if (!shown) throw new Error('no LocalStack log yet in this project (fnmesh local up starts one)');
    });

  local
    .command('env')
    .description('shell lines pointing osls, the AWS CLI and the SDKs at the local cloud: eval "$(fnmesh local env)"')
    .action(async () => {
      const out = output(json());
      const variables = localEnvironment(LOCALSTACK_ENDPOINT);
      out.result(variables, () => Object.entries(variables).forEach(([name, value]) => out.say(`export ${name}=${value}`)));
    });

  return local;
}
