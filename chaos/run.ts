/**
 * `npm run chaos [-- --quick] [-- --json] [-- --seed N]`: the reliability runs, with fixed seeds.
 *
 *   locks     contender processes frozen past their lease while their SDK calls draw faults;
 *             every run's history through the checker, and its counter exact (W × N)
 *   channel   values through failing consume loops with SDK faults and poison values; every
 *             effect applied exactly once, the poison dead-lettered with its reason and redriven
 *
 * Prints one JSON document (with --json, nothing else on stdout) whose `totals` are
 * { operations, faultsInjected, lost, doubleApplied, lockViolations, staleFenceWritesAccepted },
 * and writes it to chaos/results/latest.json. Exits 1 if any of the last four is not 0.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot, up } from '../infra/localstack/localstack.ts';
import { createMeshTable, deleteMeshTable } from '../test/helpers/meshTable.ts';
import { type ChannelChaosResult, runChannelChaos } from './channelChaos.ts';
import { type LockChaosResult, runLockChaos } from './lockChaos.ts';

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
  ? { lockRuns: 3, workers: 3, increments: 5, pauses: 4, messages: 1000 }
  : { lockRuns: 10, workers: 4, increments: 10, pauses: 8, messages: 10_000 };
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  const startedAt = Date.now();
  await up({ log });
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

    const sum = (pick: (run: LockChaosResult) => number) => lockRuns.reduce((total, run) => total + pick(run), 0);
    const totals = {
      operations: sum((run) => run.operations) + channel.messages + channel.handlerRuns,
      faultsInjected: sum((run) => run.faultsInjected) + channel.handlerFailures + channel.sdkFaults,
      lost: sum((run) => run.lost) + channel.lost,
      doubleApplied: sum((run) => run.doubleApplied) + channel.doubleApplied,
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
