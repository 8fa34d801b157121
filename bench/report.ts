/**
 * Renders benchmark results (`bench/results/latest.json`) into `BENCHMARKS.md` and SVG charts
 * under `benchmarks/` of a docs folder. What the page shows is listed in bench/metrics.ts (figures,
 * targets, curve columns, keys) and drawn by bench/charts.ts; the output depends on the results
 * alone: the same input gives byte-identical files.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MeshConfigError } from '../lib/errors.ts';
import { chartSpecs, renderSvg } from './charts.ts';
import { duration, group, num, startedAtText, statText, table } from './format.ts';
import {
  CALL_METRICS,
  type Column,
  CURVES,
  FUNCTION_COLUMNS,
  KEYS,
  type Metric,
  RATIO_METRICS,
  ratioSide,
  RINGS,
  SERVICES,
  SUBSTRATE_ROWS,
  SUBSTRATE_TARGET,
  substrateVerdict,
  targetText,
  type Verdict,
  verdict,
} from './metrics.ts';
import { type BenchResults, TARGETS } from './results.ts';

export interface Chart {
  /** File name under `<docsDir>/benchmarks/`, e.g. `ratios.svg`. */
  file: string;
  title: string;
  svg: string;
}

export interface RenderedReport {
  markdown: string;
  charts: Chart[];
}

/** Writes `<docsDir>/BENCHMARKS.md` and `<docsDir>/benchmarks/*.svg`; returns their paths. */
export async function writeReport(
  results: BenchResults,
  options: { docsDir: string },
): Promise<{ markdownPath: string; charts: string[] }> {
  const { markdown, charts } = await renderReport(results);
  const chartDir = join(options.docsDir, 'benchmarks');
  await mkdir(chartDir, { recursive: true });
  const chartPaths: string[] = [];
  for (const chart of charts) {
    const path = join(chartDir, chart.file);
    await writeFile(path, chart.svg);
    chartPaths.push(path);
  }
  const markdownPath = join(options.docsDir, 'BENCHMARKS.md');
  await writeFile(markdownPath, markdown);
  return { markdownPath, charts: chartPaths };
}

/** The page and its charts, in memory. */
export async function renderReport(results: BenchResults): Promise<RenderedReport> {
  if ((results as { schema: unknown }).schema !== 1) {
    throw new MeshConfigError(
      `benchmark results have schema ${String((results as { schema: unknown }).schema)}; this report renders schema 1`,
    );
  }
  const charts: Chart[] = [];
  for (const { file, title, spec } of chartSpecs(results)) charts.push({ file, title, svg: await renderSvg(spec) });
  return { markdown: renderMarkdown(results, charts), charts };
}

/**
 * The per-call path as py-spy saw it, before and after the per-call fast path
 * (infra/localstack/plugin/fnmesh_localstack/fast_path.py and dynamodb.py, `FNMESH_FAST_PATH`). A
 * profiler is not part of a bench run, so this is stated, not measured by the run: how it was taken
 * is in the text.
 */
export const SUBSTRATE_PROFILE = [
  "Where the gateway's request threads spent their time, sampled with py-spy (`py-spy record --rate 50 --duration 90 " +
    '--nonblocking --format raw` on the LocalStack process) on two LocalStacks at once, one with `FNMESH_FAST_PATH=0` ' +
    '(before) and one without (after), both driven by the same `npx tsx bench/substrate.ts --compare <port>` run on a ' +
    "loaded 2-core machine. Samples in threads serving a request, by the outermost step they were in; strict mode's " +
    'transaction commit window (a sleep by design: 62 and 96 samples) left out.',
  '',
  table(
    ['Step', 'Before (samples)', 'After (samples)', 'What it is'],
    [
      [
        'CloudWatch `PutMetricData`',
        '617 (71%)',
        '2 (2%)',
        'Every SQS call (AWS/SQS) and every Lambda invocation (AWS/Lambda) publishes a metric: an internal request through the whole gateway, then a new SQLite connection and a commit with an fsync, under one lock. Now: no AWS/SQS metrics (nothing of fnmesh reads them), the store commits without an fsync.',
      ],
      [
        'moto: the DynamoDB operation',
        '69 (8%)',
        '50 (60%)',
        "moto's own work: expression parsing, a deep copy of the update expression's tree per UpdateItem, copies of a Query's items.",
      ],
      [
        'Lambda Invoke',
        '62 (7%)',
        '14 (17%)',
        "LocalStack's invoke path and the process executor's HTTP round trip to the function's runtime.",
      ],
      [
        'Response log',
        '42 (5%)',
        '0',
        'An INFO line per call, with copies of the request and response headers built for it even with the logger off. Now only with `FNMESH_REQUEST_LOG=1`.',
      ],
      ['Other handler-chain steps', '31 (4%)', '6 (7%)', 'CORS, region and account, internal parameters, metrics counters.'],
      [
        "moto's answer parsed",
        '15 (2%)',
        '6 (7%)',
        "botocore parses moto's JSON answer into a dict, which LocalStack then serializes to JSON again. Now outside the DynamoDB lock.",
      ],
      ['X-Ray trace header', '12 (1%)', '1 (1%)', 'A trace id generated for every request.'],
      ['Response serialization', '9 (1%)', '3 (4%)', "LocalStack's serializer, walking the answer's shape."],
      ['SQS provider, request parsing, routing', '16 (2%)', '2 (2%)', ''],
      ['**All**', '**873**', '**84**', 'Busy time of request threads in the same 90 s: a tenth.'],
    ],
  ),
  '',
  "On two cores and one GIL, the metric store's work beside each SQS call and invocation slowed every other request: " +
    "the moto and Lambda rows shrink after the cut though their code did not change. What is left is moto's operation " +
    "itself, the Lambda executor's round trip, and the JSON of a DynamoDB answer parsed and serialized twice (moto's, " +
    "then LocalStack's); the next cuts there are moto's per-call copies and handing moto's answer through when fnmesh " +
    'does not rewrite it.',
  '',
  "A second pass (2026-11-30) measured each call's cost to the LocalStack process as CPU time, not samples: the " +
    "process's CPU (from /proc) over 200 calls made one after another, idle machine otherwise. (py-spy's `--gil` samples " +
    "had put three quarters of the time on Twisted's reactor thread; per-thread CPU showed it at a tenth.)",
  '',
  table(
    ['Call', 'CPU per call before (ms)', 'After (ms)', 'What was cut'],
    [
      ['DynamoDB GetItem', '2.80', '2.40', ''],
      ['DynamoDB PutItem', '3.05', '1.95', ''],
      [
        'DynamoDB conditional UpdateItem',
        '4.15',
        '2.85',
        "moto parsed the update expression twice per call and deep-copied its tree for each validator; now parsed once per distinct text, copied by unpickling (a quarter of a deep copy's cost).",
      ],
      ['DynamoDB TransactWriteItems (a Put and an Update)', '7.00', '4.90', 'The same, for the Update.'],
      ['SQS SendMessage', '2.35', '1.95', ''],
      ['SQS ReceiveMessage', '2.45', '2.10', ''],
      [
        'Lambda Invoke',
        '21.60',
        '13.60',
        "An invocation's log upload and metric were requests LocalStack made to itself over HTTP, through its own server; now in memory (`IN_MEMORY_CLIENT=1`), as are the event source pollers' receives and deletes.",
      ],
      [
        'Nothing (idle, stack deployed)',
        '15 % of a core',
        '1 %',
        "The event source mappings' pollers short-polled their empty queues, each poll a request through the gateway; they now wait inside LocalStack for a visible message (`sqs_pollers.py`).",
      ],
    ],
  ),
  '',
  'A 1,000-task fan-out on one shard took 25.4 s before and 13.9 s after (51.3 s in the published run before these ' +
    "two passes); the process's CPU for it went from 20.0 s to 11.9 s.",
].join('\n');

const mark = (verdict: Verdict): string => (verdict === 'pass' ? '✓' : verdict === 'fail' ? '✗' : '—');
const met = (metric: Metric, results: BenchResults): string => mark(verdict(metric, results));

/** Every `runs` count in the results, ascending. */
function runCounts(results: BenchResults): number[] {
  const counts = new Set<number>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'runs' && typeof inner === 'number') counts.add(inner);
        else visit(inner);
      }
    }
  };
  visit(results);
  return [...counts].sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** A table with one row per entry, or a note that the run measured none. */
function entryTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  if (rows.length === 0) return '_Not measured in this run._';
  return table(
    columns.map((column) => column.heading),
    rows.map((row) => columns.map((column) => column.cell(row))),
  );
}

/** `apiCallsPerOp`, one row per call metric, each service's count and the target. */
function callTable(results: BenchResults): string {
  return table(
    ['Operation', 'Key', ...SERVICES.map((service) => service.name), 'Target', 'Met'],
    CALL_METRICS.map((metric) => {
      const counts = results.apiCallsPerOp[metric.key] as Partial<Record<string, number>>;
      return [
        metric.label,
        `\`${metric.key}\``,
        ...SERVICES.map(({ key }) => (key in metric.services ? num(counts[key]!) : '—')),
        targetText(metric),
        met(metric, results),
      ];
    }),
  );
}

/** `wireCalls` as a table: one row per operation and call, in the order of the call metrics. */
function wireTable(results: BenchResults): string {
  const rows = results.wireCalls ?? [];
  if (rows.length === 0) return '_Not measured in this run._';
  const order: string[] = CALL_METRICS.map((metric) => metric.key);
  const sorted = [...rows].sort((a, b) => order.indexOf(a.op) - order.indexOf(b.op) || (a.call < b.call ? -1 : a.call > b.call ? 1 : 0));
  return table(
    ['Key', 'Operations', 'Call', 'Attempts', 'Per operation', 'Refused: conflict', 'Refused: throttled'],
    sorted.map((row) => [
      `\`${row.op}\``,
      group(row.ops),
      `\`${row.call}\``,
      group(row.attempts),
      num(row.attempts / row.ops),
      group(row.conflicts),
      group(row.throttled),
    ]),
  );
}

/** `ratios`, one row per ratio metric: both sides, the ratio, and the target. */
function ratioTable(results: BenchResults): string {
  return table(
    ['Comparison', 'Key', 'fnmesh', 'Baseline', 'Ratio', 'Better', 'Target', 'Met'],
    RATIO_METRICS.map((metric) => [
      metric.label,
      `\`${metric.key}\``,
      `${statText(ratioSide(results, metric, metric.fnmesh))} ${metric.fnmesh.unit}`,
      `${statText(ratioSide(results, metric, metric.baseline))} ${metric.baseline.unit}`,
      statText(results.ratios[metric.key]),
      metric.better,
      targetText(metric),
      met(metric, results),
    ]),
  );
}

/** `substrate.calls`, one row per call: the call, the floor beside it, the ratio and the target. */
function substrateTable(results: BenchResults): string {
  const substrate = results.substrate;
  if (!substrate) return '_Not measured in this run._';
  const target = `≤ ${TARGETS[SUBSTRATE_TARGET.key]}`;
  return table(
    ['Call', 'Key', 'Call (ms)', 'Floor (ms)', 'Call / floor', 'Target', 'Met'],
    SUBSTRATE_ROWS.map((row) => {
      const figure = substrate.calls[row.key];
      if (!figure) return [row.label, `\`${row.key}\``, '—', '—', substrate.skipped[row.key] ?? 'not measured', target, '—'];
      const ratio = figure.ratioLessDesignedWait
        ? `${statText(figure.ratio)}; ${statText(figure.ratioLessDesignedWait)} less the ${num(substrate.transactionWindowMs)} ms commit window`
        : statText(figure.ratio);
      return [
        row.label,
        `\`${row.key}\``,
        statText(figure.callMs),
        statText(figure.floorMs),
        ratio,
        target,
        mark(substrateVerdict(figure)),
      ];
    }),
  );
}

/** `hashRing`, one row per ring. */
function ringTable(results: BenchResults): string {
  return table(
    ['Implementation', 'Lookups/s', 'Max/mean load', 'Moved on add', 'Moved on remove'],
    RINGS.map((ring) => {
      const figures = results.hashRing[ring.key];
      const removed = 'movedOnRemovePercent' in figures ? figures.movedOnRemovePercent : undefined;
      return [
        `${ring.name} (\`hashRing.${ring.key}\`)`,
        statText(figures.lookupsPerSecond),
        num(figures.maxOverMean),
        `${num(figures.movedOnAddPercent)}%`,
        removed === undefined ? '—' : `${num(removed)}%`,
      ];
    }),
  );
}

function renderMarkdown(results: BenchResults, charts: Chart[]): string {
  const { machine, hashRing } = results;
  const image = (file: string) => {
    const chart = charts.find((candidate) => candidate.file === file);
    return chart ? `![${chart.title}](benchmarks/${chart.file})` : '';
  };
  const runs = runCounts(results);
  const runsText = runs.length === 0 ? 'several' : runs.length === 1 ? String(runs[0]) : `${runs[0]}–${runs[runs.length - 1]}`;

  const out: string[] = [];
  const section = (...lines: string[]) => out.push(...lines, '');

  section('# fnmesh benchmarks');
  section('<!-- Generated by bench/report.ts from bench/results/latest.json. Do not edit by hand. -->');

  section(
    '## How it was produced',
    '',
    '`npm run bench` (full mode) or `npm run bench -- --quick` (quick mode) measures fnmesh against LocalStack, ' +
      'writes `latest.json` and renders this page and its charts from it (`bench/report.ts`) into `bench/out/`; ' +
      'a full run with `-- --publish` also writes them to `bench/results/latest.json` and `docs/`.',
    '',
    `- Mode: **${results.mode}**`,
    `- Started: ${startedAtText(results.startedAt)}`,
    `- Duration: ${duration(results.durationSeconds)}`,
  );

  section(
    '## Machine',
    '',
    `- CPU: ${machine.cpus} × ${machine.cpuModel}`,
    `- Memory: ${num(machine.memoryGiB)} GiB`,
    `- OS: ${machine.os}`,
    `- Node.js: ${machine.node}`,
    `- LocalStack: ${machine.localstack}`,
  );

  section(
    '## How to read',
    '',
    '- **Ratios** are fnmesh / raw SDK, measured side by side in the same run: each pair (fnmesh, raw) runs back to back, ' +
      'the ratio is taken per pair, and the figure is the median of those ratios. They compare like with like on the same ' +
      'machine and LocalStack, so they travel between machines better than absolute figures.',
    `- Each measured figure is the **median of N runs** (here N = ${runsText}), shown as \`median [min–max]\`.`,
    '- API call counts are exact: an SDK middleware counts every request on the wire, retries included.',
    '- Durations are in milliseconds unless marked otherwise; ✓ meets the target, ✗ misses it, — has no target.',
  );

  section(
    '## API calls per operation',
    '',
    'Calls per logical operation, counted exactly. Fewer calls mean lower cost and latency on AWS.',
    '',
    callTable(results),
    '',
    '### On the wire, by call',
    '',
    'The calls behind each operation above, by `Service.Operation`, summed over every measured run: attempts on the wire ' +
      '(retries included), and how many the service refused for a **conflict** (`TransactionConflict` cancellations, ' +
      '`TransactionConflictException`, `TransactionInProgressException`) or for **throttling** (`ThrottlingError` ' +
      'cancellations, `ThrottlingException`, `ProvisionedThroughputExceededException`). The default LocalStack refuses ' +
      'nothing; against one in strict mode ([STRICT.md](STRICT.md)) these are the refusals AWS would give.',
    '',
    wireTable(results),
  );

  section(
    '## Ratios vs raw SDK',
    '',
    ratioTable(results),
    '',
    image('ratios.svg'),
    '',
    "What the ratios compare. The raw channel loop sends, receives and deletes and nothing else; fnmesh also counts every value in and out of the channel (exact close and drain) and claims each message once, yet keeps up by batching that bookkeeping (one lookup and one claim per up to 50 values) and pipelining it. The raw lock pair is the smallest possible lease lock; fnmesh's grant also writes the item format version and accepts a retry of its own grant (`OR owner = :token`), which keeps a lock whose answer was lost from being held by nobody. Sent through the raw SDK, those same two calls take as long as fnmesh's lock + unlock (measured apart: 10.9 vs 10.8 ms): the difference to the raw pair is the server evaluating the longer expressions (moto), not client overhead.",
  );

  section(
    '## Substrate: calls vs a Python round trip',
    '',
    'What one call to the local cloud costs, against the floor any Python-hosted emulator pays: a bare HTTP round trip ' +
      "(a small JSON POST, keep-alive, through Node's http as the SDK calls) to a minimal threaded `http.server` run by " +
      "LocalStack's own Python on the same machine (`bench/substrate.ts`). Each call is timed back to back with a floor " +
      "call, the order alternating, so load on the machine hits both alike; a run's ratio is median(call) / median(floor). " +
      `Floor in this run: ${results.substrate ? `${statText(results.substrate.floorMs)} ms` : 'not measured'}. ` +
      "In strict mode a TransactWriteItems answers when its commit window ends (AWS's conflicts, [STRICT.md](STRICT.md)): " +
      'its target holds the call less that window.',
    '',
    substrateTable(results),
    '',
    '### Substrate profile',
    '',
    SUBSTRATE_PROFILE,
  );

  section(
    '## Scaling curves',
    '',
    ...CURVES.flatMap((curve, index) => [
      ...(index === 0 ? [] : ['']),
      `### ${curve.title}`,
      '',
      curve.intro,
      '',
      // Each curve's columns read its own points; the cast only forgets which curve it is.
      entryTable(curve.columns as readonly Column<unknown>[], results.curves[curve.key]),
      ...curve.charts.flatMap((file) => ['', image(file)]),
    ]),
  );

  const ideal = 100 / (hashRing.nodes + 1);
  section(
    '## Hash ring vs peers',
    '',
    `${group(hashRing.keys)} keys over ${hashRing.nodes} nodes. Max/mean is the most loaded node over the mean load (1 is perfect); ` +
      `moved is the share of keys that change node when one node is added or removed (ideal on add: 1/(n+1) = ${num(ideal)}%). ` +
      'Jump consistent hash can only remove the last bucket, so it has no remove figure.',
    '',
    ringTable(results),
    '',
    image('hash-ring.svg'),
  );

  section(
    '## Functions',
    '',
    'Bundle size of each deployed function, and the time of a cold start (init) against a warm invocation.',
    '',
    entryTable(FUNCTION_COLUMNS, results.functions),
  );

  section(
    '## latest.json keys',
    '',
    'The keys of `bench/results/latest.json` (schema 1). Names are stable, so runs can be compared key by key. ' +
      'A **Stat** is `{ median, min, max, runs }`: the median of `runs` samples with the smallest (`min`) and largest (`max`). ' +
      '`[]` marks an array of entries.',
    '',
    table(
      ['Key', 'Type', 'Meaning'],
      KEYS.map(([key, type, meaning]) => [`\`${key}\``, type, meaning]),
    ),
  );

  return `${out.join('\n').trimEnd()}\n`;
}
