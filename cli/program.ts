/**
 * The fnmesh CLI's commands (cli/main.ts runs them): drive and watch the mesh. Every command takes `--json` and then prints one JSON
 * document on stdout.
 *
 *   fnmesh up | down | deploy             LocalStack (host mode) and the stack, stage local
 *   fnmesh local up|down|status|logs|env  the project's local cloud, for any Serverless service
 *   fnmesh demo <scenario|all> [options]  the seed's scenarios through the deployed functions
 *   fnmesh status                         channels, locks, groups
 *   fnmesh dlq <channel> list|redrive     a channel's dead letters
 *   fnmesh trace <id>                     a run, hop by hop
 *   fnmesh ui [--port N] [--allow-actions] a live dashboard in the browser (127.0.0.1 only)
 *   fnmesh init <dir>                     a starter service using fnmesh, in a new directory
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { down, projectDir, projectRoot, up } from '../infra/localstack/localstack.ts';
import { serverlessInteractive } from '../infra/serverless/cli.ts';
import { listDeadLetters, redriveDeadLetters } from './commands/dlq.ts';
import { init } from './commands/init.ts';
import { registerLocal } from './commands/local.ts';
import { status } from './commands/status.ts';
import { showTrace } from './commands/trace.ts';
import { ui } from './commands/ui.ts';
import { meshContext } from './context.ts';
import { channel } from './demos/channel.ts';
import { counter } from './demos/counter.ts';
import { hello } from './demos/hello.ts';
import { pool } from './demos/pool.ts';
import { rpc } from './demos/rpc.ts';
import { runDemo } from './demos/run.ts';
import { shards } from './demos/shards.ts';
import { squares } from './demos/squares.ts';
import { type Output, output } from './output.ts';

const SCENARIOS = ['hello', 'channel', 'rpc', 'counter', 'squares', 'pool', 'shards'] as const;
type Scenario = (typeof SCENARIOS)[number];

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a positive integer');
  return parsed;
}

function portNumber(value: string): number {
  const parsed = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(parsed >= 0 && parsed <= 65535)) throw new InvalidArgumentError('expected a port number (0-65535)');
  return parsed;
}

function taskList(value: string): number[] {
  if (value === '' || value === 'none') return [];
  return value.split(',').map((part) => {
    const parsed = Number(part);
    if (!Number.isSafeInteger(parsed) || parsed < 0) throw new InvalidArgumentError(`expected task numbers like 3,7, got ${part}`);
    return parsed;
  });
}

/** Numbers stay numbers; anything else is passed on as given, to show the server's typed error. */
function rpcArgument(value: string): unknown {
  return value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
}

interface DemoOptions {
  workers: number;
  increments: number;
  tasks: number;
  shards: number;
  keys: number;
  a: unknown;
  b: unknown;
  method: string;
  unsafe: boolean;
  failOnce: number[];
}

async function runScenario(scenario: Scenario, options: DemoOptions, out: Output, stage: string) {
  const ctx = meshContext(stage);
  switch (scenario) {
    case 'hello':
      return runDemo(ctx, out, scenario, hello);
    case 'channel':
      return runDemo(ctx, out, scenario, channel);
    case 'rpc':
      return runDemo(ctx, out, scenario, (run) => rpc(run, options));
    case 'counter':
      return runDemo(ctx, out, scenario, (run) => counter(run, options));
    case 'squares':
      return runDemo(ctx, out, scenario, (run) => squares(run, options));
    case 'pool':
      return runDemo(ctx, out, scenario, (run) => pool(run, options));
    case 'shards':
      return runDemo(ctx, out, scenario, (run) => shards(run, options));
  }
}

function summaryOf(scenario: Scenario, result: Record<string, any>): string {
  switch (scenario) {
    case 'hello':
      return result.workerRan ? 'the worker ran and said Hello, World!' : 'no worker';
    case 'channel':
      return `received ${result.received}`;
    case 'rpc':
      return result.error ? `${result.error.name}: ${result.error.message}` : `= ${result.result}`;
    case 'counter':
      return `expected ${result.expected}, counted ${result.actual}, lost ${result.lostUpdates}`;
    case 'squares':
    case 'pool':
      return `${result.results.length}/${result.tasks} results, each matched to its task`;
    case 'shards':
      return `${result.keys} keys on ${result.shards} shards, ${result.misplaced.length} misplaced; ${result.movedOnAdd} move on adding a shard`;
  }
}

/**
 * The CLI, not yet run. `configure` is applied first, so that its settings (e.g. `exitOverride`
 * in tests) reach every subcommand.
 */
export function buildProgram(configure: (program: Command) => Command = (program) => program): Command {
  const program = configure(new Command())
    .name('fnmesh')
    .description("Go's concurrency model on AWS serverless: drive and watch the mesh")
    .option('--json', 'print one JSON document on stdout', false)
    .option('--stage <stage>', 'the stage to talk to', 'local')
    .showHelpAfterError();

  const globals = () => program.opts<{ json: boolean; stage: string }>();

  program
    .command('up')
    .description('start LocalStack in host mode on 127.0.0.1:4566 (idempotent)')
    .option('--strict', "strict mode (the default): AWS's transaction conflicts, throttling and duplicate deliveries (docs/STRICT.md)")
    .option('--no-strict', 'strict mode off (as FNMESH_STRICT=0)')
    .action(async (options: { strict?: boolean }) => {
      const out = output(globals().json);
      const result = await up({ log: (line) => out.say(line), ...(options.strict === undefined ? {} : { strict: options.strict }) });
      out.result(result, () =>
        out.say(
          result.started
            ? `LocalStack ready at ${result.endpoint} in ${result.seconds.toFixed(1)} s`
            : `LocalStack already up at ${result.endpoint}`,
        ),
      );
    });

  program
    .command('down')
    .description('stop the LocalStack this project started (by its pid)')
    .action(async () => {
      const out = output(globals().json);
      const stopped = await down({ log: (line) => out.say(line) });
      out.result({ stopped }, () => {});
    });

  registerLocal(program, () => globals().json);

  program
    .command('deploy')
    .description("serverless deploy of the project's service to the stage (LocalStack for stage local)")
    .action(async () => {
      const { json, stage } = globals();
      const out = output(json);
      if (stage === 'local') await up({ log: (line) => out.say(line) });
      const startedAt = Date.now();
      await serverlessInteractive(['deploy', '--stage', stage], json ? 'stderr' : 'inherit', projectDir);
      out.result({ deployed: true, stage, seconds: (Date.now() - startedAt) / 1000 }, () => out.say(`deployed stage ${stage}`));
    });

  program
    .command('demo')
    .description(`run a scenario of the seed through the deployed functions: ${SCENARIOS.join(', ')} or all`)
    .addArgument(new Command().createArgument('<scenario>', 'which').choices([...SCENARIOS, 'all']))
    .option('--workers <n>', 'counter: concurrent workers', positiveInteger, 4)
    .option('--increments <n>', 'counter: increments per worker', positiveInteger, 25)
    .option('--unsafe', "counter: reproduce the seed's mistake (three locks on one counter)", false)
    .option('--tasks <n>', 'squares, pool: number of tasks', positiveInteger, 10)
    .option('--fail-once <tasks>', 'squares, pool: tasks whose first attempt fails (comma list, or none)', taskList, [3])
    .option('--shards <n>', 'shards: number of shards (1-4)', positiveInteger, 3)
    .option('--keys <n>', 'shards: number of keys', positiveInteger, 30)
    .option('--a <value>', 'rpc: A', rpcArgument, 6)
    .option('--b <value>', 'rpc: B', rpcArgument, 7)
    .addOption(new Option('--method <name>', 'rpc: the method to call').default('Quoter.Multiply'))
    .action(async (scenario: Scenario | 'all', options: DemoOptions) => {
      const { json, stage } = globals();
      const out = output(json);
      if (scenario !== 'all') {
        const result = await runScenario(scenario, options, out, stage);
        out.result(result, () => out.say(`${scenario}: ${summaryOf(scenario, result)}   (trace ${result.traceId})`));
        return;
      }
      const results: Record<string, unknown> = {};
      const rows: string[][] = [];
      for (const each of SCENARIOS) {
        out.say(`\n== ${each}`);
        const result = await runScenario(each, options, out, stage);
        results[each] = result;
        rows.push([each, summaryOf(each, result), result.traceId]);
      }
      out.result(results, () => {
        out.say('');
        out.table(['scenario', 'outcome', 'trace (fnmesh trace <id>)'], rows);
      });
    });

  program
    .command('bench')
    .description('benchmarks: fnmesh against the raw SDK and the peers (writes bench/out/; --publish: bench/results/, docs/BENCHMARKS.md)')
    .option('--quick', 'the short run (under 3 minutes)', false)
    .option('--smoke', 'every section once at its smallest size: proves the harness, its timings mean nothing', false)
    .option('--publish', 'a full run only: also write the published figures (bench/results/latest.json, docs/BENCHMARKS.md)', false)
    .action(async (options: { quick: boolean; smoke: boolean; publish: boolean }) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(projectRoot, 'bench', 'run.ts'),
          ...(options.quick ? ['--quick'] : []),
          ...(options.smoke ? ['--smoke'] : []),
          ...(options.publish ? ['--publish'] : []),
        ],
        { stdio: 'inherit' },
      );
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      if (code !== 0) throw new Error(`the benchmark run failed (exit ${code})`);
    });

  program
    .command('status')
    .description('channels (length, closed, dead letters), locks (holder, fence, lease), groups (pending, errors)')
    .action(async () => {
      const { json, stage } = globals();
      await status(meshContext(stage), output(json));
    });

  program
    .command('dlq')
    .description("a channel's dead-letter queue: list its messages (with reasons) or redrive them")
    .argument('<channel>', 'ping, tasks, results, shard-0 … shard-3, smoke')
    .addArgument(new Command().createArgument('<action>', 'what to do').choices(['list', 'redrive']))
    .option('--max <n>', 'list: at most this many messages', positiveInteger, 10)
    .action(async (channelName: string, action: 'list' | 'redrive', options: { max: number }) => {
      const { json, stage } = globals();
      const ctx = meshContext(stage);
      const out = output(json);
      if (action === 'list') await listDeadLetters(ctx, channelName, out, { max: options.max });
      else await redriveDeadLetters(ctx, channelName, out);
    });

  program
    .command('trace')
    .description('a run hop by hop (function, channel, lock), with timings')
    .argument('<traceId>', 'the trace id a demo printed')
    .action(async (traceId: string) => {
      const { json, stage } = globals();
      await showTrace(meshContext(stage), traceId, output(json));
    });

  program
    .command('ui')
    .description('a live dashboard in the browser: channels, locks, groups, runs, dead letters (127.0.0.1 only, a per-session token)')
    .option('--port <n>', 'the port to listen on (default: any free port)', portNumber, 0)
    .option('--allow-actions', 'allow redriving dead letters on a stage other than local (read-only there otherwise)', false)
    .action(async (options: { port: number; allowActions: boolean }) => {
      const { json, stage } = globals();
      const ctx = meshContext(stage);
      const server = await ui(ctx, output(json), options);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
      // Their keep-alive sockets would hold the process a few seconds more.
      for (const client of [ctx.dynamodb, ctx.sqs, ctx.lambda]) client.destroy();
    });

  program
    .command('init')
    .description('write a starter service into <dir>: serverless.yml, a function on a Mutex, one on a Channel, tests on the local cloud')
    .argument('<dir>', 'the directory (created if missing; must be empty unless --force)')
    .option('--name <name>', "the service's name (default: from the directory's name)")
    .option('--fnmesh <spec>', "fnmesh's dependency spec in package.json, e.g. file:./fnmesh-0.1.0.tgz (default: this fnmesh's version)")
    .option('--force', 'write into a directory that is not empty', false)
    .action((dir: string, options: { name?: string; fnmesh?: string; force: boolean }) => {
      const out = output(globals().json);
      const result = init(dir, options);
      out.result(result, () => {
        out.say(`wrote the starter service ${result.name} (${result.files.length} files, fnmesh ${result.fnmesh}) in ${result.dir}\nnext:`);
        for (const command of result.next) out.say(`  ${command}`);
      });
    });

  return program;
}
