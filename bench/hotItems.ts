/**
 * `npm run bench:hot` (`-- --json` for one JSON document on stdout): the hot items of
 * docs/SCALING.md, measured. A channel's meta item and a WaitGroup's counter take every send,
 * claim or done; on AWS one partition serves at most 1,000 write units a second, so each has a
 * ceiling that follows from the units one operation spends. This starts a scratch LocalStack in
 * strict mode (docs/STRICT.md) with the partition's write units scaled down (`--units`, default
 * 40: 1/25 of AWS's) and a short commit window (`--window`, 5 ms), then drives fnmesh's own
 * primitives through it. The scale keeps every ceiling below what this LocalStack's own
 * serialized transactions allow on one item (at 100 units, a channel's sends here are held back by
 * conflicts on the meta item before they reach the 50 a second the bucket allows):
 *
 *   waitGroupDone  done() calls on one WaitGroup offered at 0.5, 0.9, 1.5 and 2× the predicted ceiling
 *   channelSend    send() calls on one unbounded channel, the same factors
 *   channelClaim   values received (receiveMany(10), 4 receivers flat out) from one channel
 *   waitGroupShards  the same done() fan-in, offered at `--shard-factor` (default 4) × one
 *                  counter's ceiling, on a WaitGroup of 1 shard and of `--shards` (default 8):
 *                  the ceiling moves with the shards (docs/SCALING.md, "Sharded counters")
 *
 * Every attempt is counted by `CallCounter` (lib/faults/callCounter.ts), refusals too, and checked against the strict
 * LocalStack's own counts. What is compared with the arithmetic are counts and ratios: where
 * throttling starts (never below 1×; after (burst − u) / (r·u − U) seconds above it), and the time
 * the work took against the least the partition's token bucket allows. Writes
 * bench/out/hot-items.json (ignored; or `--out <dir>`), and with `--publish` (not with `--only`)
 * bench/results/hot-items.json as well (infra/runOutput.ts).
 */
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { parseArgs } from 'node:util';
import { strictStatus } from '../infra/localstack/localstack.ts';
import { RUN_OUTPUT_OPTIONS, runOutput, writeRunFile, wroteLine } from '../infra/runOutput.ts';
import { Channel } from '../lib/channel/Channel.ts';
import { shardOf } from '../lib/spawn/shards.ts';
import { WaitGroup } from '../lib/sync/WaitGroup.ts';
import { countedClients } from '../infra/localstack/clients.ts';
import { createMeshTableNamed } from '../infra/localstack/resources.ts';
import { scratchLocalStack, startScratch } from '../infra/localstack/scratch.ts';
import { CallCounter } from '../lib/faults/callCounter.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: args } = parseArgs({
  options: {
    units: { type: 'string', default: '40' },
    window: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '4' },
    shards: { type: 'string', default: '8' },
    'shard-factor': { type: 'string', default: '4' },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
    ...RUN_OUTPUT_OPTIONS,
  },
});
const UNITS = Number(args.units);
const WINDOW_MS = Number(args.window);
const SECONDS = Number(args.seconds);
const FACTORS = [0.5, 0.9, 1.5, 2];
const SHARDS = Number(args.shards);
const SHARD_FACTOR = Number(args['shard-factor']);
/** `--only waitGroupShards` (comma-separated sections) runs those alone. */
const ONLY = args.only ? new Set(args.only.split(',')) : undefined;
const runs = (section: string) => !ONLY || ONLY.has(section);
/** bench/out/hot-items.json (hot-items-partial.json for --only); `--publish`, on a full run only, also bench/results/. */
const output = runOutput('bench', { unpublishable: ONLY ? 'a partial run (--only)' : undefined });
/** Strict mode, as AWS: a partition keeps one second of unused units. */
const BURST = UNITS;
/** Write units per operation on the hot partition key (items under 1 KB; transactional writes cost 2 per item). */
const COST = {
  /** Put done#<taskId> + Update counter, both in partition waitgroup#<name>. */
  waitGroupDone: 4,
  /**
   * A count-in transaction of the meta item + the send intent `send#<id>` (2 items: 4 units), then
   * the settle, a DeleteItem of the intent (1 unit), all in partition channel#<name>.
   */
  channelSend: 5,
  /** A claim of k values: k markers msg#<id> + the meta item, all in partition channel#<name>. */
  channelClaim: (k: number) => 2 * (k + 1),
};

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));

let startedAt = 0;
let firstThrottle: number | undefined;
const counter = new CallCounter((_call, refusal) => {
  if (refusal === 'throttled' && firstThrottle === undefined) firstThrottle = (performance.now() - startedAt) / 1000;
});

function begin(): void {
  counter.reset();
  firstThrottle = undefined;
  startedAt = performance.now();
}

/** The strict LocalStack's own counts of refusals (docs/STRICT.md, "Seen and counted"). */
async function serverRefusals(endpoint: string): Promise<{ conflicts: number; throttled: number }> {
  const counts = (await strictStatus(endpoint))?.counts ?? {};
  const count = (kind: string) => counts[kind] ?? 0;
  return {
    conflicts: count('transaction-conflict') + count('transaction-conflict-exception') + count('transaction-in-progress'),
    throttled: count('throttled'),
  };
}

/** Runs `op(i)` for i < n, the i-th at i / rate seconds, not waiting for one to start the next. */
async function openLoop(n: number, rate: number, op: (i: number) => Promise<unknown>): Promise<{ seconds: number; errors: string[] }> {
  const outcomes: Promise<string | undefined>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = startedAt + (i / rate) * 1000 - performance.now();
    if (wait > 0) await sleep(wait);
    outcomes.push(
      op(i).then(
        () => undefined,
        (err: Error) => err.name,
      ),
    );
  }
  const errors = (await Promise.all(outcomes)).filter((name): name is string => name !== undefined);
  return { seconds: (performance.now() - startedAt) / 1000, errors };
}

interface SweepPoint {
  /** Offered rate / predicted ceiling. */
  factor: number;
  offeredPerSecond: number;
  operations: number;
  /** Operations that ended in an error (their names). */
  errors: string[];
  /** Of the operation's DynamoDB write call. */
  attempts: number;
  conflicts: number;
  throttled: number;
  /** Seconds from the first call to the first throttled attempt (null: none). */
  firstThrottleSeconds: number | null;
  /** (burst − u) / (r·u − U) when r·u > U, else null: the token bucket's prediction. */
  predictedFirstThrottleSeconds: number | null;
  /** From the first call until every operation finished. */
  seconds: number;
  /** The least the bucket allows: max(dispatch time, (n·u − burst) / U). */
  predictedSeconds: number;
  /** Operations finished per second of the run, over the predicted ceiling U / u (above 1: the burst). */
  throughputVsCeiling: number;
  /** The same at the least time the bucket allows. */
  predictedThroughputVsCeiling: number;
  /** The strict LocalStack counted the same refusals as the client. */
  serverAgrees: boolean;
}

/** The counter's tallies of `calls`, added up. */
function summed(calls: string[]): { attempts: number; conflicts: number; throttled: number } {
  const tallies = counter.tally();
  return calls.reduce(
    (sum, call) => {
      const tally = tallies[call];
      return tally
        ? {
            attempts: sum.attempts + tally.attempts,
            conflicts: sum.conflicts + tally.conflicts,
            throttled: sum.throttled + tally.throttled,
          }
        : sum;
    },
    { attempts: 0, conflicts: 0, throttled: 0 },
  );
}

async function sweep(
  name: string,
  unitsPerOp: number,
  endpoint: string,
  /** The calls each operation makes on the hot partition, whose attempts and refusals are summed. */
  calls: string[],
  prepare: (n: number) => Promise<{ op: (i: number) => Promise<unknown>; spentBefore: number }>,
): Promise<{ ceilingPerSecond: number; unitsPerOp: number; points: SweepPoint[] }> {
  const ceiling = UNITS / unitsPerOp;
  const points: SweepPoint[] = [];
  for (const factor of FACTORS) {
    const rate = factor * ceiling;
    const n = Math.round(rate * SECONDS);
    const { op, spentBefore } = await prepare(n); // a fresh item: a full bucket (less what preparing spent)
    const before = await serverRefusals(endpoint);
    begin();
    const { seconds, errors } = await openLoop(n, rate, op);
    const after = await serverRefusals(endpoint);
    const tally = summed(calls);
    const burst = BURST - spentBefore;
    const predictedFirst = rate * unitsPerOp > UNITS ? Math.max(0, (burst - unitsPerOp) / (rate * unitsPerOp - UNITS)) : null;
    const predictedSeconds = Math.max((n - 1) / rate, (n * unitsPerOp - burst) / UNITS);
    const point: SweepPoint = {
      factor,
      offeredPerSecond: round(rate),
      operations: n,
      errors,
      ...tally,
      firstThrottleSeconds: firstThrottle === undefined ? null : round(firstThrottle),
      predictedFirstThrottleSeconds: predictedFirst === null ? null : round(predictedFirst),
      seconds: round(seconds),
      predictedSeconds: round(predictedSeconds),
      throughputVsCeiling: round((n - errors.length) / seconds / ceiling),
      predictedThroughputVsCeiling: round(n / predictedSeconds / ceiling),
      serverAgrees:
        after.conflicts - before.conflicts === counter.conflicts() && after.throttled - before.throttled === counter.throttled(),
    };
    points.push(point);
    log(
      `${name} ×${factor}: ${n} ops at ${point.offeredPerSecond}/s → ${tally.attempts} attempts, ${tally.throttled} throttled ` +
        `(first at ${point.firstThrottleSeconds ?? '—'} s, predicted ${point.predictedFirstThrottleSeconds ?? 'never'}), ` +
        `${tally.conflicts} conflicts, ${errors.length} failed; ${point.seconds} s (least ${point.predictedSeconds} s)` +
        `${point.serverAgrees ? '' : '; the server counted otherwise'}`,
    );
    await sleep(1100); // let the machine settle between points
  }
  return { ceilingPerSecond: ceiling, unitsPerOp, points };
}

interface ShardPoint {
  shards: number;
  offeredPerSecond: number;
  operations: number;
  /** done() calls per shard (murmur3(taskId) mod shards). */
  perShard: number[];
  errors: string[];
  attempts: number;
  conflicts: number;
  throttled: number;
  firstThrottleSeconds: number | null;
  seconds: number;
  /** The least the shards' buckets allow: max(dispatch time, max over shards of (n_k·u − burst_k) / U). */
  predictedSeconds: number;
  /** done() calls that counted, per second of the run. */
  donePerSecond: number;
  /** The wait group's count afterwards (the dones that failed), read as a sum of the shards. */
  countAfter: number;
  serverAgrees: boolean;
}

/**
 * The same offered load of done() calls on a WaitGroup of each shard count: `factor` × one
 * counter's ceiling, for SECONDS. Add(n) goes to shard 0 first (1 unit there).
 */
async function shardSweep(
  endpoint: string,
  tableName: string,
  dynamodb: ReturnType<typeof countedClients>['dynamodb'],
  shardCounts: number[],
  factor: number,
) {
  const unitsPerOp = COST.waitGroupDone;
  const rate = factor * (UNITS / unitsPerOp);
  const n = Math.round(rate * SECONDS);
  const points: ShardPoint[] = [];
  for (const shards of shardCounts) {
    const wg = new WaitGroup({ client: dynamodb, tableName, name: `hot-sharded-${shards}-${Date.now()}`, shards });
    await wg.add(n);
    const tasks = Array.from({ length: n }, (_, i) => `task-${i}`);
    const perShard = Array.from({ length: shards }, (_, shard) => tasks.filter((task) => shardOf(task, shards) === shard).length);
    await sleep(1100); // the add spent a unit of shard 0: a full bucket again
    const before = await serverRefusals(endpoint);
    begin();
    const { seconds, errors } = await openLoop(n, rate, (i) => wg.done(tasks[i]!));
    const after = await serverRefusals(endpoint);
    const tally = counter.tally()['DynamoDB.TransactWriteItems'] ?? { attempts: 0, conflicts: 0, throttled: 0 };
    const point: ShardPoint = {
      shards,
      offeredPerSecond: round(rate),
      operations: n,
      perShard,
      errors,
      ...tally,
      firstThrottleSeconds: firstThrottle === undefined ? null : round(firstThrottle),
      seconds: round(seconds),
      predictedSeconds: round(Math.max((n - 1) / rate, ...perShard.map((calls) => (calls * unitsPerOp - BURST) / UNITS))),
      donePerSecond: round((n - errors.length) / seconds),
      countAfter: await wg.count(),
      serverAgrees:
        after.conflicts - before.conflicts === counter.conflicts() && after.throttled - before.throttled === counter.throttled(),
    };
    points.push(point);
    log(
      `waitGroupShards ${shards} shard${shards === 1 ? '' : 's'}: ${n} done at ${point.offeredPerSecond}/s (per shard max ${Math.max(...perShard)}) → ` +
        `${tally.attempts} attempts, ${tally.throttled} throttled (first at ${point.firstThrottleSeconds ?? '—'} s), ` +
        `${tally.conflicts} conflicts, ${errors.length} failed; ${point.seconds} s (least ${point.predictedSeconds} s), ` +
        `${point.donePerSecond} done/s, count after ${point.countAfter}${point.serverAgrees ? '' : '; the server counted otherwise'}`,
    );
    await sleep(1100);
  }
  const [one, many] = [points[0]!, points.at(-1)!];
  return {
    factor,
    ceilingPerShardPerSecond: UNITS / unitsPerOp,
    points,
    /** donePerSecond of the most shards over that of one. */
    throughputRatio: round(many.donePerSecond / one.donePerSecond),
  };
}

async function main(): Promise<void> {
  const scratch = await scratchLocalStack('hot-items');
  try {
    log(`scratch strict LocalStack on ${scratch.config.endpoint}: ${UNITS} write units per partition key, ${WINDOW_MS} ms window`);
    await startScratch(scratch, {
      FNMESH_STRICT: '1',
      FNMESH_STRICT_SEED: '1',
      FNMESH_STRICT_PARTITION_WRITE_UNITS: String(UNITS),
      FNMESH_STRICT_TRANSACTION_WINDOW_MS: String(WINDOW_MS),
      // Duplicates would add claims refused as duplicates: not the subject here.
      FNMESH_STRICT_SQS_DUPLICATE_RATE: '0',
    });
    const endpoint = scratch.config.endpoint;
    const { dynamodb, sqs } = countedClients(counter, scratch.config);
    const tableName = await createMeshTableNamed('mesh', dynamodb);
    let serial = 0;
    const channel = async (name: string) => {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
      return new Channel<number>({ sqs, dynamodb, tableName, name, queueUrl: QueueUrl!, waitTimeSeconds: 1 });
    };

    if (runs('waitGroupDone')) log('WaitGroup.done fan-in on one counter');
    const waitGroupDone = !runs('waitGroupDone')
      ? undefined
      : await sweep('waitGroupDone', COST.waitGroupDone, endpoint, ['DynamoDB.TransactWriteItems'], async (n) => {
          const wg = new WaitGroup({ client: dynamodb, tableName, name: `hot-${++serial}` });
          await wg.add(n); // 1 unit (an UpdateItem) from the same partition's bucket
          return { op: (i) => wg.done(`task-${i}`), spentBefore: 1 };
        });

    if (runs('channelSend')) log('Channel.send on one unbounded channel');
    const channelSend = !runs('channelSend')
      ? undefined
      : await sweep('channelSend', COST.channelSend, endpoint, ['DynamoDB.TransactWriteItems', 'DynamoDB.DeleteItem'], async () => {
          const ch = await channel(`hot-send-${++serial}`);
          return { op: (i) => ch.send(i), spentBefore: 0 };
        });

    const channelClaim = !runs('channelClaim')
      ? undefined
      : await (async () => {
          log('Channel claims: 4 receivers taking values as fast as they can');
          const values = Math.round((UNITS / COST.channelClaim(10)) * 10 * SECONDS * 3);
          const ch = await channel(`hot-claim-${++serial}`);
          await ch.sendMany(Array.from({ length: values }, (_, i) => i));
          await ch.close();
          await sleep(1100); // the sends and the close spent a few units: a full bucket again
          const before = await serverRefusals(endpoint);
          begin();
          const batches: number[] = [];
          await Promise.all(
            Array.from({ length: 4 }, async () => {
              for (;;) {
                const got = await ch.receiveMany(10);
                if (!got.length) return;
                batches.push(got.length);
              }
            }),
          );
          const seconds = (performance.now() - startedAt) / 1000;
          const after = await serverRefusals(endpoint);
          const received = batches.reduce((sum, k) => sum + k, 0);
          const units = batches.reduce((sum, k) => sum + COST.channelClaim(k), 0);
          const meanBatch = received / batches.length;
          const ceilingValues = UNITS / (COST.channelClaim(meanBatch) / meanBatch);
          const tally = counter.tally()['DynamoDB.TransactWriteItems'] ?? { attempts: 0, conflicts: 0, throttled: 0 };
          const claim = {
            values,
            received,
            claims: batches.length,
            meanBatch: round(meanBatch),
            unitsSpent: units,
            ceilingValuesPerSecond: round(ceilingValues),
            ...tally,
            firstThrottleSeconds: firstThrottle === undefined ? null : round(firstThrottle),
            seconds: round(seconds),
            predictedSeconds: round((units - BURST) / UNITS),
            valuesPerSecond: round(received / seconds),
            throughputVsCeiling: round(received / seconds / ceilingValues),
            predictedThroughputVsCeiling: round(received / ((units - BURST) / UNITS) / ceilingValues),
            serverAgrees:
              after.conflicts - before.conflicts === counter.conflicts() && after.throttled - before.throttled === counter.throttled(),
          };
          log(
            `channelClaim: ${received}/${values} values in ${batches.length} claims (mean ${claim.meanBatch}) → ` +
              `${tally.attempts} attempts, ${tally.throttled} throttled, ${tally.conflicts} conflicts; ${claim.seconds} s ` +
              `(least ${claim.predictedSeconds} s), ${claim.valuesPerSecond} values/s vs a ceiling of ${claim.ceilingValuesPerSecond}`,
          );
          return claim;
        })();

    if (runs('waitGroupShards')) log(`WaitGroup.done fan-in offered at ${SHARD_FACTOR}× one counter's ceiling, on 1 and ${SHARDS} shards`);
    const waitGroupShards = !runs('waitGroupShards')
      ? undefined
      : await shardSweep(endpoint, tableName, dynamodb, [1, SHARDS], SHARD_FACTOR);
    if (waitGroupShards) log(`waitGroupShards: ${SHARDS} shards took ${waitGroupShards.throughputRatio}× the done calls a second of 1`);

    const results = {
      settings: {
        partitionWriteUnits: UNITS,
        burstUnits: BURST,
        transactionWindowMs: WINDOW_MS,
        secondsPerPoint: SECONDS,
        sqsDuplicateRate: 0,
        shards: SHARDS,
        shardFactor: SHARD_FACTOR,
      },
      scaleToAws: 1000 / UNITS,
      waitGroupDone,
      channelSend,
      channelClaim,
      waitGroupShards,
    };
    // A partial run (--only) writes beside the full results, not over them.
    const file = ONLY ? 'hot-items-partial.json' : 'hot-items.json';
    const written = writeRunFile(output, file, `${JSON.stringify(results, null, 2)}\n`, 'bench/results/hot-items.json');
    if (args.json) process.stdout.write(`${JSON.stringify(results)}\n`);
    log(wroteLine(output, written));
  } finally {
    await scratch.remove();
  }
}

main().catch((err: Error) => {
  log(`bench:hot failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
