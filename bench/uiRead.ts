/**
 * `npm run bench:ui [-- --items 10000] [-- --runs 5] [-- --segments 4] [-- --json]`: how fast
 * `fnmesh ui` reads a busy table, side by side with the raw SDK doing the same work, in one run on
 * LocalStack. A fresh mesh table is filled with `--items` items in the mix a long-lived stage
 * holds (bench/meshFill.ts: trace hops, channel meta, locks of each kind, groups, wait groups,
 * Once keys); then, pair by pair in alternating order:
 *
 *   ui       what one tick of `fnmesh ui` reads: the status and the runs list (meshUiData: one
 *            snapshot Scan, cli/ui/snapshot.ts, plus the dead-letter queues' depths)
 *   ui×N     the same with the snapshot's Scan in `--segments` parallel segments
 *   before   the two reads the UI made before the snapshot: readStatus's Scan, then listTraces's
 *   raw      one full consistent Scan of the table with the SDK, paged, nothing else: the floor
 *
 * It reports each one's median time, its ratio to raw (pair by pair, then the median), and its
 * exact calls per read (CallCounter, lib/faults/callCounter.ts). No figure is a pass/fail line.
 * Writes bench/out/ui.json (ignored; or `--out <dir>`), with `--publish` bench/results/ui.json.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { parseArgs } from 'node:util';
import { meshContext, type MeshContext } from '../cli/context.ts';
import { readStatus } from '../cli/commands/status.ts';
import { meshUiData } from '../cli/ui/data.ts';
import { listTraces } from '../cli/ui/traces.ts';
import { up } from '../infra/localstack/localstack.ts';
import { createMeshTable, deleteMeshTable } from '../infra/localstack/resources.ts';
import { RUN_OUTPUT_OPTIONS, runOutput, writeRunFile, wroteLine } from '../infra/runOutput.ts';
import { CallCounter } from '../lib/faults/callCounter.ts';
import { Tracer } from '../lib/trace/Tracer.ts';
import type { Item } from '../lib/table/layout.ts';
import { fillMeshTable, meshFillItems } from './meshFill.ts';
import { ratioStat, type Stat, stat } from './results.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: args } = parseArgs({
  options: {
    items: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '5' },
    segments: { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
    ...RUN_OUTPUT_OPTIONS,
  },
});
const ITEMS = Number(args.items);
const RUNS = Number(args.runs);
const SEGMENTS = Number(args.segments);
for (const [name, value, least] of [
  ['--items', ITEMS, 100],
  ['--runs', RUNS, 1],
  ['--segments', SEGMENTS, 2],
] as const) {
  if (!Number.isSafeInteger(value) || value < least) {
    process.stderr.write(`${name} must be an integer ≥ ${least}, got ${JSON.stringify(String(value))}\n`);
    process.exit(2);
  }
}
const output = runOutput('bench', {
  unpublishable: ITEMS !== 10_000 || RUNS < 5 ? 'not the published size (--items 10000, --runs ≥ 5)' : undefined,
});

const log = (line: string) => process.stderr.write(`${line}\n`);

type Way = 'ui' | 'uiSegments' | 'before' | 'raw';

/** One way of reading, and what it found (to check that each way read the whole table). */
interface Reader {
  way: Way;
  read(): Promise<{ locks: number; runs: number }>;
}

function readers(ctx: MeshContext): Reader[] {
  return [
    {
      way: 'ui',
      read: async () => {
        const data = meshUiData(ctx);
        const status = await data.status({});
        const runs = await data.traces({ limit: 50 });
        return { locks: status.locks.length, runs: runs.length };
      },
    },
    {
      way: 'uiSegments',
      read: async () => {
        const data = meshUiData(ctx, { segments: SEGMENTS });
        const status = await data.status({});
        const runs = await data.traces({ limit: 50 });
        return { locks: status.locks.length, runs: runs.length };
      },
    },
    {
      way: 'before',
      read: async () => {
        const { document } = await readStatus(ctx, { kinds: ['waitGroup', 'once'] });
        const runs = await listTraces(ctx.dynamodb, ctx.tableName, { limit: 50 });
        return { locks: document.locks.length, runs: runs.length };
      },
    },
    {
      way: 'raw',
      read: async () => {
        let items = 0;
        let start: Item | undefined;
        do {
          const page = await ctx.dynamodb.send(
            new ScanCommand({ TableName: ctx.tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }),
          );
          items += page.Items?.length ?? 0;
          start = page.LastEvaluatedKey;
        } while (start);
        return { locks: items, runs: 0 };
      },
    },
  ];
}

async function main(): Promise<void> {
  const started = Date.now();
  log(`fnmesh bench:ui: ${ITEMS} items, ${RUNS} runs, ${SEGMENTS} segments`);
  await up({ log });
  const tableName = await createMeshTable('benchui');
  const counter = new CallCounter();
  const base = meshContext('local');
  counter.attach(base.dynamodb, 'DynamoDB');
  counter.attach(base.sqs, 'SQS');
  const ctx: MeshContext = { ...base, tableName, tracer: new Tracer({ client: base.dynamodb, tableName }) };
  try {
    const { items, counts } = meshFillItems(ITEMS);
    const fillStarted = performance.now();
    await fillMeshTable(base.dynamodb, tableName, items);
    log(
      `filled ${tableName} with ${items.length} items in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s: ${JSON.stringify(counts)}`,
    );
    const ways = readers(ctx);
    // Warm up (connections, queue URLs) and count each way's calls for one read.
    const calls = {} as Record<Way, Record<string, number>>;
    const found = {} as Record<Way, { locks: number; runs: number }>;
    for (const { way, read } of ways) {
      await read();
      counter.reset();
      found[way] = await read();
      calls[way] = counter.snapshot();
    }
    const times = Object.fromEntries(ways.map(({ way }) => [way, [] as number[]])) as Record<Way, number[]>;
    for (let run = 0; run < RUNS; run++) {
      const order = run % 2 ? [...ways].reverse() : ways;
      for (const { way, read } of order) {
        const t0 = performance.now();
        await read();
        times[way].push(performance.now() - t0);
      }
      log(`run ${run + 1}/${RUNS}: ${ways.map(({ way }) => `${way} ${times[way].at(-1)!.toFixed(0)} ms`).join(', ')}`);
    }
    const pairs = (way: Way) => times[way].map((ms, i): [number, number] => [ms, times.raw[i]!]);
    const figures = Object.fromEntries(
      ways.map(({ way }) => [way, { ms: stat(times[way]), vsRaw: ratioStat(pairs(way)), calls: calls[way], found: found[way] }]),
    ) as Record<Way, { ms: Stat; vsRaw: Stat; calls: Record<string, number>; found: { locks: number; runs: number } }>;
    const results = {
      schema: 1,
      startedAt: new Date(started).toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      items: ITEMS,
      mix: counts,
      runs: RUNS,
      segments: SEGMENTS,
      figures,
      /** before / ui, pair by pair: how much faster one UI tick got. */
      beforeVsUi: ratioStat(times.before.map((ms, i): [number, number] => [ms, times.ui[i]!])),
    };
    const written = writeRunFile(output, 'ui.json', `${JSON.stringify(results, null, 2)}\n`, 'bench/results/ui.json');
    log('');
    log('read                     median ms   × raw Scan   calls per read');
    for (const { way } of ways) {
      const f = figures[way];
      const callText = Object.entries(f.calls)
        .map(([call, count]) => `${call} ${count}`)
        .join(', ');
      log(`${way.padEnd(24)} ${f.ms.median.toFixed(0).padStart(9)}   ${f.vsRaw.median.toFixed(2).padStart(10)}   ${callText}`);
    }
    log(`before / ui (pair by pair, median): ${results.beforeVsUi.median.toFixed(2)}`);
    log(wroteLine(output, written));
    if (args.json) process.stdout.write(`${JSON.stringify(results)}\n`);
  } finally {
    await deleteMeshTable(tableName);
    for (const client of [base.dynamodb, base.sqs, base.lambda]) client.destroy();
  }
}

main().catch((err: Error) => {
  log(`bench:ui failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
