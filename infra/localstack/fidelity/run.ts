/**
 * `npm run fidelity -- --source <LocalStack checkout>`: reruns LocalStack's AWS-validated test suites
 * (suites.ts) against fnmesh's host-mode LocalStack and records pass/fail/skip per suite and per test
 * in docs/fidelity/results.json (what docs/FIDELITY.md reports).
 *
 * It builds the test venv once (pinned: requirements.txt with ../constraints.txt), bundles the
 * Node.js ports of the Python handlers (ports/), starts its own non-strict LocalStack on a spare port
 * with its own state directory, runs each suite's AWS-validated tests with pytest (LocalStack's own
 * exemptions honoured, suites.ts) and a junit report, then stops that LocalStack (unless --keep).
 * The tests themselves are never copied into fnmesh.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import Table from 'cli-table3';
import { build } from 'esbuild';
import { down, endpointOf, ensureToolVenv, projectRoot, up, type LocalStackInstance } from '../localstack.ts';
import { countOutcomes, parseJunit, pytestArguments, selectSuites, type Counts, type Suite, type TestResult } from './suites.ts';

const here = join(projectRoot, 'infra', 'localstack', 'fidelity');
const RESULTS_FILE = join(projectRoot, 'docs', 'fidelity', 'results.json');

interface SuiteResults {
  title: string;
  tests: readonly string[];
  informational: boolean;
  counts: Counts;
  seconds: number;
  results: TestResult[];
}

interface ResultsFile {
  localstack: string;
  source: string;
  suites: Record<string, SuiteResults & { measuredAt: string }>;
}

/** The test venv's python (>= 3.13: LocalStack's test utilities import `warnings.deprecated`). */
async function testVenv(): Promise<string> {
  const python = await ensureToolVenv('fidelity', join(here, 'requirements.txt'), console.error, join(here, '..', 'constraints.txt'));
  const version = spawnSync(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).stdout.trim();
  const [major, minor] = version.split('.').map(Number);
  if (major !== 3 || minor! < 13)
    throw new Error(`the fidelity venv runs Python ${version}; LocalStack's tests need >= 3.13 (set FNMESH_PYTHON to a python3.13)`);
  return python;
}

/** Bundles each port (ports/<handler>.ts, the SDK included) to <dir>/<handler>.js. */
async function bundlePorts(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const ports = readdirSync(join(here, 'ports')).filter((name) => name.startsWith('lambda_') && name.endsWith('.ts'));
  for (const port of ports) {
    await build({
      entryPoints: [join(here, 'ports', port)],
      outfile: join(dir, port.replace(/\.ts$/, '.js')),
      bundle: true,
      platform: 'node',
      target: 'node18',
      format: 'cjs',
      logLevel: 'warning',
    });
  }
}

/** The commit of the checkout, when it is the top of a git work tree. */
function sourceCommit(source: string): string | undefined {
  const result = spawnSync('git', ['-C', source, 'rev-parse', '--show-toplevel', 'HEAD'], { encoding: 'utf8' });
  const [top, commit] = result.stdout.trim().split('\n');
  return result.status === 0 && top && resolve(top) === source ? commit : undefined;
}

async function runSuite(suite: Suite, python: string, options: { source: string; endpoint: string; outDir: string; portsDir: string }) {
  const junit = join(options.outDir, `${suite.name}.xml`);
  const log = join(options.outDir, `${suite.name}.log`);
  const started = Date.now();
  const logFd = openSync(log, 'w');
  const child = spawn(python, ['-m', 'pytest', ...pytestArguments(suite, junit)], {
    cwd: options.source,
    env: {
      ...process.env,
      TEST_SKIP_LOCALSTACK_START: '1',
      TEST_AWS_ENDPOINT_URL: options.endpoint,
      AWS_DEFAULT_REGION: 'us-east-1',
      PYTHONPATH: here,
      FNMESH_FIDELITY_PORTS: options.portsDir,
    },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const code = await new Promise<number | null>((done) => child.on('close', done));
  const seconds = (Date.now() - started) / 1000;
  // pytest: 0 all passed, 1 some failed; anything else (usage, collection, internal error) is no result.
  if ((code !== 0 && code !== 1) || !existsSync(junit))
    throw new Error(`pytest did not run the ${suite.name} suite (exit ${code}); see ${log}`);
  const results = parseJunit(readFileSync(junit, 'utf8'));
  return { title: suite.title, tests: suite.tests, informational: !!suite.informational, counts: countOutcomes(results), seconds, results };
}

async function main(): Promise<void> {
  const program = new Command('fidelity')
    .description("Reruns LocalStack's AWS-validated test suites against fnmesh's host-mode LocalStack")
    .requiredOption('--source <dir>', "a checkout of LocalStack's repository at the 2026.3 line (its tests/ folder is used)")
    .option('--suite <name...>', 'run only these suites (default: all)', [])
    .option(
      '--port <port>',
      'the port of the LocalStack it starts',
      (value) => Number(value),
      Number(process.env.FNMESH_FIDELITY_PORT || 4599),
    )
    .option('--keep', 'leave that LocalStack running afterwards')
    .option('--results <file>', 'where to write the results', RESULTS_FILE)
    .parse();
  const options = program.opts<{ source: string; suite: string[]; port: number; keep?: boolean; results: string }>();
  const source = resolve(options.source);
  if (!existsSync(join(source, 'tests', 'aws', 'services', 'sqs')))
    throw new Error(`${source} is not a checkout of LocalStack's repository (no tests/aws/services)`);
  const suites = selectSuites(options.suite);

  const python = await testVenv();
  const instance: LocalStackInstance = { port: options.port, stateDir: join(projectRoot, `.localstack-${options.port}`) };
  const outDir = join(instance.stateDir, 'fidelity');
  const portsDir = join(outDir, 'ports');
  mkdirSync(outDir, { recursive: true });
  await bundlePorts(portsDir);

  const started = await up({ instance, strict: false });
  console.error(`fnmesh fidelity: LocalStack (strict mode off) at ${started.endpoint}; reports in ${outDir}`);
  const measured: Record<string, SuiteResults> = {};
  try {
    for (const suite of suites) {
      console.error(`fnmesh fidelity: ${suite.name}: ${suite.title} ...`);
      measured[suite.name] = await runSuite(suite, python, { source, endpoint: endpointOf(instance), outDir, portsDir });
      const { passed, failed, skipped } = measured[suite.name]!.counts;
      console.error(`fnmesh fidelity: ${suite.name}: ${passed} passed, ${failed} failed, ${skipped} skipped`);
    }
  } finally {
    if (started.started && !options.keep) await down({ instance });
    else if (options.keep)
      console.error(`fnmesh fidelity: LocalStack left up; stop it with FNMESH_LOCALSTACK_PORT=${options.port} npm run local:down`);
  }

  const previous: ResultsFile | undefined = existsSync(options.results) ? JSON.parse(readFileSync(options.results, 'utf8')) : undefined;
  const measuredAt = new Date().toISOString();
  const commit = sourceCommit(source);
  const file: ResultsFile = {
    localstack: /localstack-core\[runtime\]==(\S+)/.exec(readFileSync(join(here, 'requirements.txt'), 'utf8'))![1]!,
    source: commit ? `localstack/localstack@${commit}` : 'a LocalStack checkout at the 2026.3 line',
    suites: { ...previous?.suites },
  };
  for (const [name, results] of Object.entries(measured)) file.suites[name] = { ...results, measuredAt };
  mkdirSync(join(options.results, '..'), { recursive: true });
  writeFileSync(options.results, `${JSON.stringify(file, null, 2)}\n`);

  const table = new Table({ head: ['suite', 'tests', 'pass', 'fail', 'skip', 'seconds'] });
  for (const [name, { counts, seconds }] of Object.entries(measured))
    table.push([name, counts.total, counts.passed, counts.failed, counts.skipped, seconds.toFixed(0)]);
  console.log(table.toString());
  console.log(`results: ${options.results}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
