/**
 * `npm run chaos [-- --quick] [-- --json] [-- --seed N]`: the reliability runs, with fixed seeds.
 *
 *   locks     contender processes frozen past their lease while their SDK calls draw faults;
 *             every run's history through the checker, and its counter exact (W × N)
 *   channel   values through failing consume loops with SDK faults and poison values; every
 *             effect applied exactly once, the poison dead-lettered with its reason and redriven
 *   pool      tasks through the deployed worker function while it throws or crashes on a share of
 *             its invocations; every task's result exactly once
 *
 * Prints one JSON document (with --json, nothing else on stdout) whose `totals` are
 * { operations, faultsInjected, lost, doubleApplied, lockViolations, staleFenceWritesAccepted },
 * and writes it to chaos/results/latest.json. Exits 1 if any of the last four is not 0.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot, up } from '../infra/localstack/localstack.ts';
import { serverless } from '../infra/serverless/cli.ts';
import { createMeshTable, deleteMeshTable } from '../test/helpers/meshTable.ts';
import { type ChannelChaosResult, runChannelChaos } from './channelChaos.ts';
import { type LockChaosResult, runLockChaos } from './lockChaos.ts';
import { runPoolChaos } from './poolChaos.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
  },
});
const seed = Number(flags.seed);
if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got ${flags.seed}`);
const size = flags.quick
  ? { lockRuns: 3, workers: 3, increments: 5, pauses: 4, messages: 1000, poolTasks: 20 }
  : { lockRuns: 10, workers: 4, increments: 10, pauses: 8, messages: 10_000, poolTasks: 100 };
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  const startedAt = Date.now();
  await up({ log });
  const deploy = await serverless(['deploy', '--stage', 'local']);
  if (deploy.code !== 0) throw new Error(`serverless deploy failed:\n${deploy.stderr}`);
  const tableName = await createMeshTable('chaos');
  try {
    const lockRuns: LockChaosResult[] = [];
    for (let run = 0; run < size.lockRuns; run++) {
      const result = await runLockChaos({
        tableName,
        workers: size.workers,
        increments: size.increments,
        leaseMs: 600,
        faultRate: 0.1,
        seed: seed * 100 + run,
        pauses: size.pauses,
      });
      log(
        `locks run ${run + 1}/${size.lockRuns}: counter ${result.counter}/${result.expected}, ${result.grants} grants, ` +
          `${result.staleWritesRefused} stale writes refused, ${result.pausesInjected} freezes, ${result.faultsInjected - result.pausesInjected} SDK faults, ` +
          `${result.lockViolations} violations`,
      );
      lockRuns.push(result);
    }
    log(`channel: ${size.messages} values, 10% handler failures, 3% SDK faults, 1 in 50 poison`);
    const channel: ChannelChaosResult = await runChannelChaos({
      tableName,
      messages: size.messages,
      consumers: 4,
      failureRate: 0.1,
      poisonEvery: 50,
      faultRate: 0.03,
      seed,
    });
    log(
      `channel: ${channel.effects}/${channel.messages} effects, ${channel.handlerFailures} handler failures, ${channel.sdkFaults} SDK faults, ` +
        `${channel.deadLettered} dead-lettered (${channel.deadLetteredWithReason} with reason) and redriven, ${channel.lost} lost`,
    );

    log(`pool: ${size.poolTasks} tasks through the worker function, 30% of its invocations throwing or crashing`);
    const pool = await runPoolChaos({ tasks: size.poolTasks, faultRate: 0.3, seed });
    log(`pool: ${pool.tasks - pool.lost}/${pool.tasks} results, ${pool.faultsInjected} worker faults, ${pool.doubleApplied} duplicates`);

    const sum = (pick: (run: LockChaosResult) => number) => lockRuns.reduce((total, run) => total + pick(run), 0);
    const totals = {
      operations: sum((run) => run.operations) + channel.messages + channel.handlerRuns + pool.tasks + pool.results,
      faultsInjected: sum((run) => run.faultsInjected) + channel.handlerFailures + channel.sdkFaults + pool.faultsInjected,
      lost: sum((run) => run.lost) + channel.lost + pool.lost,
      doubleApplied: sum((run) => run.doubleApplied) + channel.doubleApplied + pool.doubleApplied,
      lockViolations: sum((run) => run.lockViolations),
      staleFenceWritesAccepted: sum((run) => run.staleFenceWritesAccepted),
    };
    const document = {
      mode: flags.quick ? 'quick' : 'full',
      seed,
      startedAt: new Date(startedAt).toISOString(),
      durationSeconds: Math.round((Date.now() - startedAt) / 1000),
      totals,
      locks: {
        runs: lockRuns.length,
        workers: size.workers,
        incrementsEach: size.increments,
        countersExact: lockRuns.filter((run) => run.counter === run.expected).length,
        grants: sum((run) => run.grants),
        staleWritesRefused: sum((run) => run.staleWritesRefused),
        freezes: sum((run) => run.pausesInjected),
        problems: lockRuns.flatMap((run) => run.problems),
      },
      channel,
      pool,
    };
    const out = join(projectRoot, 'chaos', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'latest.json'), `${JSON.stringify(document, null, 2)}\n`);
    process.stdout.write(flags.json ? `${JSON.stringify(document)}\n` : `${JSON.stringify(totals, null, 2)}\n`);
    const broken = totals.lost + totals.doubleApplied + totals.lockViolations + totals.staleFenceWritesAccepted;
    return broken === 0 ? 0 : 1;
  } finally {
    await deleteMeshTable(tableName);
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    log(`chaos failed: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
