/**
 * `npm run chaos [-- --quick] [-- --json] [-- --seed N] [-- --no-strict] [-- --publish] [-- --out <dir>]`:
 * the reliability runs, with
 * fixed seeds, against a LocalStack in strict mode (docs/STRICT.md: AWS's transaction conflicts,
 * throttling and duplicate deliveries), whose injected counts the document reports; `--no-strict`
 * (or FNMESH_STRICT=0) on the kind local cloud.
 *
 *   locks     contender processes frozen past their lease while their SDK calls draw faults;
 *             every run's history through the checker, and its counter exact (W × N)
 *   channel   values through failing consume loops with SDK faults and poison values; every
 *             effect applied exactly once, the poison dead-lettered with its reason and redriven
 *   pool      tasks through the deployed worker function while it throws or crashes on a share of
 *             its invocations; every task's result exactly once
 *   sends     values whose SQS answers are lost (no SDK retries), and sender processes SIGKILLed
 *             mid-send, with copies racing through range, consume and receive: nothing confirmed
 *             is lost, nothing reported unsent is delivered, no value in two bodies at once, and
 *             the closed channels drain with exact counts
 *   fan-in    hundreds of concurrent done() on one WaitGroup: each counted once, the waiter wakes
 *
 * Prints one JSON document (with --json, nothing else on stdout) whose `totals` are
 * { operations, faultsInjected, lost, doubleApplied, lockViolations, staleFenceWritesAccepted, runsFailed },
 * and writes it to chaos/out/latest-strict.json (ignored; latest.json with --no-strict; or `--out`),
 * and with `--publish`, on a full run only, to chaos/results/ as well (infra/runOutput.ts). Exits 1 if
 * any of the last five is not 0. A run that throws is recorded with its error (`failures`) and counted in
 * `runsFailed`, and the other runs go on.
 */
import { parseArgs } from 'node:util';
import { type StrictStatus, strictByDefault, strictStatus, up } from '../infra/localstack/localstack.ts';
import { serverless } from '../infra/serverless/cli.ts';
import { createMeshTable, deleteMeshTable } from '../infra/localstack/resources.ts';
import { type ChannelChaosResult, runChannelChaos } from './channelChaos.ts';
import { type LockChaosResult, runLockChaos } from './lockChaos.ts';
import { type FanInChaosResult, runFanInChaos } from './fanInChaos.ts';
import { runPoolChaos } from './poolChaos.ts';
import { runSendChaos } from './sendChaos.ts';
import { RUN_OUTPUT_OPTIONS, runOutput, writeRunFile, wroteLine } from '../infra/runOutput.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    strict: { type: 'boolean', default: false },
    'no-strict': { type: 'boolean', default: false },
    ...RUN_OUTPUT_OPTIONS,
  },
});
const output = runOutput('chaos', { unpublishable: flags.quick ? 'a quick run' : undefined });
// Strict mode unless --no-strict (or FNMESH_STRICT=0); --strict insists on it.
const strict = flags.strict || (!flags['no-strict'] && strictByDefault());
const seed = Number(flags.seed);
if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got ${flags.seed}`);
const size = flags.quick
  ? {
      lockRuns: 3,
      workers: 3,
      increments: 5,
      pauses: 4,
      messages: 1000,
      poolTasks: 20,
      sendValues: 300,
      killedSenders: 3,
      valuesPerSender: 20,
      fanIn: 500,
    }
  : {
      lockRuns: 10,
      workers: 4,
      increments: 10,
      pauses: 8,
      messages: 10_000,
      poolTasks: 100,
      sendValues: 2000,
      killedSenders: 6,
      valuesPerSender: 50,
      fanIn: 1000,
    };
const log = (line: string) => process.stderr.write(`${line}\n`);
// A run that stalls (a channel that never drains) stops after this long and counts what is missing.
// Strict mode's conflicts slow the full run's 10,000-value channel past 5 minutes a phase here.
const runTimeoutMs = strict && flags.quick ? 2 * 60_000 : 10 * 60_000;

interface RunFailure {
  run: string;
  error: string;
}

/** Each adversity strict mode injected between two readings of its counts. */
function injectedBetween(before: StrictStatus | undefined, after: StrictStatus | undefined): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [kind, count] of Object.entries(after?.counts ?? {})) counts[kind] = count - (before?.counts[kind] ?? 0);
  return counts;
}

async function main(): Promise<number> {
  const startedAt = Date.now();
  await up({ log, strict });
  const strictBefore = await strictStatus();
  const deploy = await serverless(['deploy', '--stage', 'local']);
  if (deploy.code !== 0) throw new Error(`serverless deploy failed:\n${deploy.stderr}`);
  const tableName = await createMeshTable('chaos');
  const failures: RunFailure[] = [];
  /** Runs one part; if it throws, records the error and goes on with the next part. */
  async function guarded<T>(run: string, body: () => Promise<T>): Promise<T | undefined> {
    try {
      return await body();
    } catch (err) {
      const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      log(`${run}: failed: ${error}`);
      failures.push({ run, error });
      return undefined;
    }
  }
  try {
    const lockRuns: LockChaosResult[] = [];
    for (let run = 0; run < size.lockRuns; run++) {
      const result = await guarded(`locks run ${run + 1}`, () =>
        runLockChaos({
          tableName,
          workers: size.workers,
          increments: size.increments,
          leaseMs: 600,
          faultRate: 0.1,
          seed: seed * 100 + run,
          pauses: size.pauses,
        }),
      );
      if (!result) continue;
      log(
        `locks run ${run + 1}/${size.lockRuns}: counter ${result.counter}/${result.expected}, ${result.grants} grants, ` +
          `${result.staleWritesRefused} stale writes refused, ${result.pausesInjected} freezes, ${result.faultsInjected - result.pausesInjected} SDK faults, ` +
          `${result.lockViolations} violations`,
      );
      lockRuns.push(result);
    }
    log(`channel: ${size.messages} values, 10% handler failures, 3% SDK faults, 1 in 50 poison`);
    const channel: ChannelChaosResult | undefined = await guarded('channel', () =>
      runChannelChaos({
        tableName,
        messages: size.messages,
        consumers: 4,
        failureRate: 0.1,
        poisonEvery: 50,
        faultRate: 0.03,
        seed,
        phaseTimeoutMs: runTimeoutMs,
      }),
    );
    if (channel)
      log(
        `channel: ${channel.effects}/${channel.messages} effects, ${channel.handlerFailures} handler failures, ${channel.sdkFaults} SDK faults, ` +
          `${channel.deadLettered} dead-lettered (${channel.deadLetteredWithReason} with reason) and redriven, ${channel.lost} lost`,
      );

    log(`pool: ${size.poolTasks} tasks through the worker function, 30% of its invocations throwing or crashing`);
    const pool = await guarded('pool', () => runPoolChaos({ tasks: size.poolTasks, faultRate: 0.3, seed, timeoutMs: runTimeoutMs }));
    if (pool)
      log(
        `pool: ${pool.tasks - pool.lost}/${pool.tasks} results, ${pool.faultsInjected} worker faults, ${pool.redriven} redriven from the dead-letter queue, ${pool.doubleApplied} duplicates`,
      );

    log(
      `sends: ${size.sendValues} values with 30% of SQS answers lost (maxAttempts 1); ${size.killedSenders} sender processes SIGKILLed; ` +
        'copies racing through range, consume and receive',
    );
    const sends = await guarded('sends', async () => {
      const result = await runSendChaos({
        tableName,
        values: size.sendValues,
        answerLossRate: 0.3,
        killedSenders: size.killedSenders,
        valuesPerSender: size.valuesPerSender,
        seed,
        timeoutMs: runTimeoutMs,
      });
      for (const [run, part] of Object.entries(result))
        if (!part.drained || !part.countsExact) throw new Error(`sends ${run}: drained ${part.drained}, counts exact ${part.countsExact}`);
      return result;
    });
    for (const [run, part] of Object.entries(sends ?? {}))
      log(
        `sends ${run}: ${part.confirmed} confirmed, ${part.reportedNotSent} reported not sent, ${part.unconfirmed} unconfirmed; ` +
          `${part.delivered} delivered, ${part.abandoned} abandoned (${part.abandonedCopiesSetAside} late copies set aside); ` +
          `${part.lost} lost, ${part.misreported} misreported, ${part.concurrentBodies} in two bodies at once`,
      );

    const fanIns: FanInChaosResult[] = [];
    for (const shards of [1, 8]) {
      log(`fan-in: ${size.fanIn} concurrent done() on one WaitGroup of ${shards} shard(s), 3% SDK faults`);
      const fanIn = await guarded(`fan-in (${shards} shards)`, async () => {
        const result = await runFanInChaos({
          tableName,
          tasks: size.fanIn,
          shards,
          clients: 10,
          faultRate: 0.03,
          seed,
          timeoutMs: runTimeoutMs,
        });
        if (!result.waiterWoke) throw new Error(`the waiter of ${shards} shard(s) did not wake`);
        return result;
      });
      if (!fanIn) continue;
      fanIns.push(fanIn);
      log(
        `fan-in (${shards} shards): ${fanIn.tasks - fanIn.lost}/${fanIn.tasks} counted out in ${fanIn.seconds.toFixed(1)} s; ` +
          `${fanIn.doneCalls} done calls, ${fanIn.gaveUpOnConflicts} gave up on conflicts or throttling and were retried`,
      );
    }
    const sendParts = Object.values(sends ?? {});
    const sendSum = (pick: (part: (typeof sendParts)[number]) => number) => sendParts.reduce((total, part) => total + pick(part), 0);

    const sum = (pick: (run: LockChaosResult) => number) => lockRuns.reduce((total, run) => total + pick(run), 0);
    const strictInjected = injectedBetween(strictBefore, await strictStatus());
    const injectedByStrictMode = Object.values(strictInjected).reduce((total, count) => total + count, 0);
    const totals = {
      operations:
        sum((run) => run.operations) +
        (channel ? channel.messages + channel.handlerRuns : 0) +
        (pool ? pool.tasks + pool.results : 0) +
        sendSum((part) => part.values + part.delivered) +
        fanIns.reduce((total, run) => total + run.doneCalls, 0),
      faultsInjected:
        sum((run) => run.faultsInjected) +
        (channel ? channel.handlerFailures + channel.sdkFaults : 0) +
        (pool?.faultsInjected ?? 0) +
        sendSum((part) => part.sdkFaults) +
        (sends ? size.killedSenders : 0) +
        fanIns.reduce((total, run) => total + run.sdkFaults, 0) +
        injectedByStrictMode,
      lost:
        sum((run) => run.lost) +
        (channel?.lost ?? 0) +
        (pool?.lost ?? 0) +
        sendSum((part) => part.lost) +
        fanIns.reduce((total, run) => total + run.lost, 0),
      // Delivered twice, in two bodies at once, or delivered though reported not sent.
      doubleApplied:
        sum((run) => run.doubleApplied) +
        (channel?.doubleApplied ?? 0) +
        (pool?.doubleApplied ?? 0) +
        sendSum((part) => part.misreported + part.concurrentBodies) +
        fanIns.reduce((total, run) => total + run.doubleApplied, 0),
      lockViolations: sum((run) => run.lockViolations),
      staleFenceWritesAccepted: sum((run) => run.staleFenceWritesAccepted),
      runsFailed: failures.length,
    };
    const document = {
      mode: flags.quick ? 'quick' : 'full',
      strict: strictBefore?.enabled ? { settings: strictBefore.settings, injected: strictInjected } : null,
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
      channel: channel ?? null,
      pool: pool ?? null,
      sends: sends ?? null,
      fanIn: fanIns,
      failures,
    };
    const file = strict ? 'latest-strict.json' : 'latest.json';
    log(wroteLine(output, writeRunFile(output, file, `${JSON.stringify(document, null, 2)}\n`, `chaos/results/${file}`)));
    process.stdout.write(flags.json ? `${JSON.stringify(document)}\n` : `${JSON.stringify(totals, null, 2)}\n`);
    const broken = totals.lost + totals.doubleApplied + totals.lockViolations + totals.staleFenceWritesAccepted + totals.runsFailed;
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
