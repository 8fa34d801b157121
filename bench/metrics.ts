/**
 * What the benchmark report shows, one entry per figure: where it sits in the results, how its
 * row reads, what its key means, and the target it is held to (the values are `TARGETS`, beside
 * the results schema). The rows of docs/BENCHMARKS.md, its table of `latest.json` keys and the
 * charts are all drawn from these lists (bench/report.ts, bench/charts.ts), so a figure added here
 * appears in each of them.
 */
import { num, statText } from './format.ts';
import {
  type ApiCallsPerOp,
  type BenchResults,
  type BoundedChannelPoint,
  type Curves,
  type FanOutPoint,
  type FunctionFigures,
  type LockContentionPoint,
  type Ratios,
  type Stat,
  type SubstrateCall,
  type SubstrateFigure,
  TARGETS,
  type Targets,
} from './results.ts';

export type Service = 'sqs' | 'dynamodb' | 'lambda';

/** The services of the "API calls per operation" table, in its column order. */
export const SERVICES: readonly { key: Service; name: string }[] = [
  { key: 'sqs', name: 'SQS' },
  { key: 'dynamodb', name: 'DynamoDB' },
  { key: 'lambda', name: 'Lambda' },
];

/** A target of `TARGETS`, and what it means in the key table. */
export interface TargetRef {
  key: keyof Targets;
  meaning: string;
}

/** Exact calls per logical operation: `apiCallsPerOp.<key>.<service>`. At most the target. */
export interface CallMetric {
  kind: 'calls';
  key: keyof ApiCallsPerOp;
  /** The row's label in "API calls per operation". */
  label: string;
  /** What `apiCallsPerOp.<key>` means. */
  meaning: string;
  /** The services it calls, each with what its count means (in key-table order). */
  services: Partial<Record<Service, string>>;
  /** The service whose count is held to the target. */
  target?: TargetRef & { service: Service };
}

/** One side of a ratio: `ratios.<key>.<side>`, a Stat in `unit`. */
export interface RatioSide {
  key: string;
  unit: string;
  meaning: string;
}

/** fnmesh / baseline, pair by pair: `ratios.<key>`. At least the target if higher is better, else at most. */
export interface RatioMetric {
  kind: 'ratio';
  key: keyof Ratios;
  label: string;
  better: 'higher' | 'lower';
  meaning: string;
  fnmesh: RatioSide;
  baseline: RatioSide;
  target?: TargetRef;
}

export type Metric = CallMetric | RatioMetric;

/** Every figure held against a target or compared with a baseline, in the order of the report. */
export const METRICS: readonly Metric[] = [
  {
    kind: 'calls',
    key: 'channelSendReceiveAck',
    label: 'Channel send + receive + ack, batched (per message)',
    meaning: 'Channel send + receive + ack, batched, per message.',
    services: { sqs: 'SQS calls per message, batched (sendMany + range).', dynamodb: 'DynamoDB calls per message, batched.' },
    target: { key: 'channelSqsCallsPerMessage', service: 'sqs', meaning: 'Most SQS calls per message, batched.' },
  },
  {
    kind: 'calls',
    key: 'channelSendReceiveAckUnbatched',
    label: 'Channel send + receive + ack, unbatched (per message)',
    meaning: 'Channel send + receive + ack, unbatched, per message.',
    services: { sqs: 'SQS calls per message, send + receive one by one.', dynamodb: 'DynamoDB calls per message, one by one.' },
  },
  {
    kind: 'calls',
    key: 'lockUnlock',
    label: 'Mutex lock + unlock',
    meaning: 'Mutex lock + unlock.',
    services: { dynamodb: 'DynamoDB calls per mutex lock + unlock.' },
    target: { key: 'lockUnlockCalls', service: 'dynamodb', meaning: 'Most DynamoDB calls per lock + unlock.' },
  },
  {
    kind: 'calls',
    key: 'waitGroupDone',
    label: 'WaitGroup done',
    meaning: 'WaitGroup done.',
    services: { dynamodb: 'DynamoDB calls per WaitGroup done.' },
    target: { key: 'waitGroupDoneCalls', service: 'dynamodb', meaning: 'Most DynamoDB calls per WaitGroup done.' },
  },
  {
    kind: 'calls',
    key: 'rpcCall',
    label: 'RPC call',
    meaning: 'RPC call.',
    services: { lambda: 'Lambda calls per RPC call.' },
    target: { key: 'rpcCalls', service: 'lambda', meaning: 'Most Lambda calls per RPC call.' },
  },
  {
    kind: 'calls',
    key: 'once',
    label: 'Once, first run of a key',
    meaning: 'Once, first run of a key.',
    services: { dynamodb: 'DynamoDB calls for the first run of a Once key.' },
  },
  {
    kind: 'ratio',
    key: 'channelThroughputVsRaw',
    label: 'Channel throughput vs raw SQS',
    better: 'higher',
    meaning: 'fnmesh / raw SQS messages per second, per pair; higher is better.',
    fnmesh: { key: 'fnmeshPerSecond', unit: 'msg/s', meaning: 'fnmesh channel messages per second.' },
    baseline: { key: 'rawPerSecond', unit: 'msg/s', meaning: 'Raw SQS messages per second.' },
    target: { key: 'channelThroughputVsRaw', meaning: 'Least channel throughput ratio.' },
  },
  {
    kind: 'ratio',
    key: 'lockLatencyVsRaw',
    label: 'Lock + unlock latency vs raw DynamoDB',
    better: 'lower',
    meaning: 'fnmesh / raw DynamoDB lock + unlock latency, per pair; lower is better.',
    fnmesh: { key: 'fnmeshMs', unit: 'ms', meaning: 'fnmesh lock + unlock, ms.' },
    baseline: { key: 'rawMs', unit: 'ms', meaning: 'Raw conditional put + delete, ms.' },
    target: { key: 'lockLatencyVsRaw', meaning: 'Most lock latency ratio.' },
  },
  {
    kind: 'ratio',
    key: 'rpcLatencyVsRaw',
    label: 'RPC call latency vs raw Lambda Invoke',
    better: 'lower',
    meaning: 'fnmesh / raw Lambda Invoke latency, per pair; lower is better.',
    fnmesh: { key: 'fnmeshMs', unit: 'ms', meaning: 'fnmesh RPC call, ms.' },
    baseline: { key: 'rawMs', unit: 'ms', meaning: 'Raw Lambda Invoke, ms.' },
    target: { key: 'rpcLatencyVsRaw', meaning: 'Most RPC latency ratio.' },
  },
  {
    kind: 'ratio',
    key: 'hashRingLookupsVsHashring',
    label: 'Hash ring lookups vs hashring package',
    better: 'higher',
    meaning: 'fnmesh / hashring package lookups per second, per pair; higher is better.',
    fnmesh: { key: 'fnmeshPerSecond', unit: '/s', meaning: 'fnmesh ring lookups per second.' },
    baseline: { key: 'hashringPerSecond', unit: '/s', meaning: 'hashring package lookups per second.' },
  },
  {
    kind: 'ratio',
    key: 'fairLockThroughputVsPolling',
    label: 'Fair lock throughput vs polling, 16 contenders',
    better: 'higher',
    meaning:
      "Mutex in starvation mode ('fifo') / polling Mutex, lock + unlock pairs per second at 16 contenders in one process (separate Mutex objects), per pair of runs; higher is better.",
    fnmesh: { key: 'fifoPerSecond', unit: '/s', meaning: "Starvation mode ('fifo') pairs per second." },
    baseline: { key: 'pollingPerSecond', unit: '/s', meaning: 'Polling Mutex pairs per second.' },
    target: { key: 'fairLockThroughputVsPolling', meaning: 'Least fair / polling lock throughput ratio.' },
  },
  {
    kind: 'ratio',
    key: 'fairLockP99OverP50',
    label: 'Fair lock p99 / p50 wait, 16 contenders',
    better: 'lower',
    meaning: "Starvation mode ('fifo'): p99 / p50 wait to acquire at 16 contenders, per run; lower is better.",
    fnmesh: { key: 'p99WaitMs', unit: 'ms', meaning: 'p99 wait, ms.' },
    baseline: { key: 'p50WaitMs', unit: 'ms', meaning: 'p50 wait, ms.' },
    target: { key: 'fairLockP99OverP50', meaning: 'Most fair lock p99 / p50 wait.' },
  },
  {
    kind: 'ratio',
    key: 'pollingLockP99OverP50',
    label: 'Polling lock p99 / p50 wait, 16 contenders',
    better: 'lower',
    meaning: 'Polling Mutex (the same runs as the fair one): p99 / p50 wait to acquire at 16 contenders; lower is better.',
    fnmesh: { key: 'p99WaitMs', unit: 'ms', meaning: 'p99 wait, ms.' },
    baseline: { key: 'p50WaitMs', unit: 'ms', meaning: 'p50 wait, ms.' },
  },
  {
    kind: 'ratio',
    key: 'fairLockThroughputVsPollingApart',
    label: 'Fair lock throughput vs polling, 16 contenders apart',
    better: 'higher',
    meaning:
      "As `fairLockThroughputVsPolling`, with each contender in a worker thread of its own, as 16 Lambda invocations would be: no wake-up of one reaches another, so a fifo hand-over waits for the next waiter's look.",
    fnmesh: { key: 'fifoPerSecond', unit: '/s', meaning: "Starvation mode ('fifo') pairs per second." },
    baseline: { key: 'pollingPerSecond', unit: '/s', meaning: 'Polling Mutex pairs per second.' },
    target: { key: 'fairLockThroughputVsPolling', meaning: 'Least fair / polling lock throughput ratio.' },
  },
  {
    kind: 'ratio',
    key: 'fairLockP99OverP50Apart',
    label: 'Fair lock p99 / p50 wait, 16 contenders apart',
    better: 'lower',
    meaning: 'As `fairLockP99OverP50`, with each contender in a worker thread of its own.',
    fnmesh: { key: 'p99WaitMs', unit: 'ms', meaning: 'p99 wait, ms.' },
    baseline: { key: 'p50WaitMs', unit: 'ms', meaning: 'p50 wait, ms.' },
    target: { key: 'fairLockP99OverP50', meaning: 'Most fair lock p99 / p50 wait.' },
  },
  {
    kind: 'ratio',
    key: 'pollingLockP99OverP50Apart',
    label: 'Polling lock p99 / p50 wait, 16 contenders apart',
    better: 'lower',
    meaning: 'As `pollingLockP99OverP50`, with each contender in a worker thread of its own.',
    fnmesh: { key: 'p99WaitMs', unit: 'ms', meaning: 'p99 wait, ms.' },
    baseline: { key: 'p50WaitMs', unit: 'ms', meaning: 'p50 wait, ms.' },
  },
];

export const CALL_METRICS = METRICS.filter((metric): metric is CallMetric => metric.kind === 'calls');
export const RATIO_METRICS = METRICS.filter((metric): metric is RatioMetric => metric.kind === 'ratio');

// ---------------------------------------------------------------------------------------------
// Checks against the targets

export type Verdict = 'pass' | 'fail' | 'none';

/** The figure a metric holds to its target: the target service's count, or the ratio's median. */
export function measured(metric: Metric, results: BenchResults): number | undefined {
  if (metric.kind === 'ratio') return results.ratios[metric.key].median;
  if (!metric.target) return undefined;
  return (results.apiCallsPerOp[metric.key] as Partial<Record<Service, number>>)[metric.target.service];
}

/** Whether the figure meets its target: at most it, or at least it for a ratio where higher is better. */
export function verdict(metric: Metric, results: BenchResults): Verdict {
  const value = measured(metric, results);
  if (!metric.target || value === undefined) return 'none';
  const target = TARGETS[metric.target.key];
  const atLeast = metric.kind === 'ratio' && metric.better === 'higher';
  return (atLeast ? value >= target : value <= target) ? 'pass' : 'fail';
}

/** The target as the report states it: `≤ 2`, `≥ 0.9`, `SQS ≤ 0.3` (naming the service if the row has several), or `—`. */
export function targetText(metric: Metric): string {
  if (!metric.target) return '—';
  const bound = `${metric.kind === 'ratio' && metric.better === 'higher' ? '≥' : '≤'} ${TARGETS[metric.target.key]}`;
  if (metric.kind === 'ratio' || Object.keys(metric.services).length === 1) return bound;
  return `${SERVICES.find((service) => service.key === metric.target!.service)!.name} ${bound}`;
}

/** A side of a ratio, as measured. */
export function ratioSide(results: BenchResults, metric: RatioMetric, side: RatioSide): Stat {
  return (results.ratios[metric.key] as unknown as Record<string, Stat>)[side.key]!;
}

// ---------------------------------------------------------------------------------------------
// Tables of entries: curves, hash rings, functions

/** A column of a table with one row per entry of an array in the results. */
export interface Column<Row> {
  key: keyof Row & string;
  heading: string;
  /** The key's type, as the key table states it. */
  type: 'number' | 'string' | 'Stat';
  meaning: string;
  cell: (row: Row) => string;
}

const countColumn = <Row>(key: keyof Row & string, heading: string, meaning: string): Column<Row> => ({
  key,
  heading,
  type: 'number',
  meaning,
  cell: (row) => String(row[key]),
});

const statColumn = <Row>(key: keyof Row & string, heading: string, meaning: string): Column<Row> => ({
  key,
  heading,
  type: 'Stat',
  meaning,
  cell: (row) => statText(row[key] as Stat),
});

const optionalStatColumn = <Row>(key: keyof Row & string, heading: string, meaning: string): Column<Row> => ({
  key,
  heading,
  type: 'Stat',
  meaning,
  cell: (row) => (row[key] === undefined ? '—' : statText(row[key] as Stat)),
});

/** Calls per value by service (`{ sqs, dynamodb }`), shown as "SQS x + DynamoDB y". */
const callsColumn = <Row>(key: keyof Row & string, heading: string, meaning: string): Column<Row> => ({
  key,
  heading,
  type: 'number',
  meaning,
  cell: (row) => {
    const calls = row[key] as { sqs: number; dynamodb: number } | undefined;
    return calls === undefined ? '—' : `SQS ${num(calls.sqs)} + DynamoDB ${num(calls.dynamodb)}`;
  },
});

/** A scaling curve: `curves.<key>`, one entry per point. */
export interface Curve<Point> {
  key: keyof Curves;
  title: string;
  /** What the array holds, for the key table. */
  meaning: string;
  /** The paragraph under the title. */
  intro: string;
  columns: Column<Point>[];
  /** Chart files (bench/charts.ts) shown under the table. */
  charts: string[];
}

const lockContention: Curve<LockContentionPoint> = {
  key: 'lockContention',
  title: 'Lock contention',
  meaning: 'Mutex contention, one entry per contender count.',
  intro:
    'N contenders take and release one mutex in a loop; throughput counts completed lock + unlock pairs, wait is the time from asking to holding.',
  columns: [
    countColumn('contenders', 'Contenders', 'Concurrent contenders for one mutex (1, 2, 4, 8, 16).'),
    statColumn('throughputPerSecond', 'Throughput (/s)', 'Lock + unlock pairs completed per second, all contenders.'),
    statColumn('p50WaitMs', 'p50 wait (ms)', 'Median wait to acquire, ms.'),
    statColumn('p99WaitMs', 'p99 wait (ms)', '99th percentile wait to acquire, ms.'),
    statColumn('maxWaitMs', 'Max wait (ms)', 'Longest wait to acquire, ms.'),
  ],
  charts: ['lock-contention-throughput.svg', 'lock-contention-wait.svg'],
};

const fanOut: Curve<FanOutPoint> = {
  key: 'fanOut',
  title: 'Fan-out',
  meaning: 'Fan-out, one entry per shard count.',
  intro:
    "The same tasks spread over k shards; speed-up = seconds(1 shard) / seconds(k shards). Each shard's queue has its own event source mapping, run by 4 pollers on LocalStack (AWS starts with 5), so each added shard adds batches invoked side by side; a worker holds and acks a batch's values in one transaction each. The curve is flat, or falls, because everything shares this machine's two cores. Measured during a 1,000-task run on one shard (per-thread CPU from /proc): LocalStack's one Python process used 11.9 s of CPU in 13.9 s, its interpreter lock letting it use about one core, mostly in the gateway's request threads (each task's two DynamoDB writes, a share of its batch's hold and ack transactions and of its invocation); the workers' Node processes 5.7 s more. One function serves every shard queue, so more shards mean more batches invoked at once, hence more execution environments, and each new one costs a cold start (1.5 to 2.5 s of CPU here) on the same cores: more shards add concurrency but no capacity here, the curve measures the substrate. On AWS each shard's queue has its own pollers and concurrent workers, and each shard's meta item its own partition.",
  columns: [
    countColumn('shards', 'Shards', 'Shards the tasks are spread over (1, 2, 4).'),
    countColumn('tasks', 'Tasks', 'Tasks fanned out.'),
    statColumn('seconds', 'Seconds', 'Time until every task is done, seconds.'),
    {
      key: 'speedup',
      heading: 'Speed-up',
      type: 'number',
      meaning: 'seconds(1 shard) / seconds(this many shards).',
      cell: (point) => `${num(point.speedup)}×`,
    },
  ],
  charts: ['fan-out.svg'],
};

const boundedChannel: Curve<BoundedChannelPoint> = {
  key: 'boundedChannel',
  title: 'Bounded channel',
  meaning: 'Bounded channel, one entry per capacity.',
  intro:
    "Messages per second through a bounded channel, by capacity (one sender, one `range` receiver). A sender blocked on a full channel either wakes on the channel's room signal (a room queue it long-polls, which each receiver's count-out signals) or polls the meta item with backoff, as without a room queue; the two run side by side, in alternating order, and the ratio is taken per pair. Calls per value count every request on the wire, both sides together.",
  columns: [
    countColumn('capacity', 'Capacity', 'Channel capacity.'),
    statColumn(
      'messagesPerSecond',
      'Messages/s (waking)',
      'Messages per second through the channel, blocked senders woken by the room signal.',
    ),
    optionalStatColumn(
      'polledPerSecond',
      'Messages/s (polling)',
      'Messages per second, blocked senders polling (no room queue); absent from older runs.',
    ),
    optionalStatColumn('wakeVsPoll', 'Waking / polling', 'Waking / polling messages per second, per pair; higher is better.'),
    callsColumn('callsPerValue', 'Calls/value (waking)', 'API calls per value, waking: `sqs` and `dynamodb`.'),
    callsColumn('polledCallsPerValue', 'Calls/value (polling)', 'API calls per value, polling: `sqs` and `dynamodb`.'),
  ],
  charts: ['bounded-channel.svg'],
};

/** The scaling curves, in the order of the report. */
export const CURVES = [lockContention, fanOut, boundedChannel] as const;

/** A consistent-hashing implementation of `hashRing.<key>`; `unit` is what it places keys on. */
export interface Ring {
  key: 'fnmesh' | 'hashring' | 'jump';
  /** The row's label in "Hash ring vs peers". */
  name: string;
  meaning: string;
  lookupsMeaning: string;
  unit: 'node' | 'bucket';
  /** Whether it can remove any node (jump consistent hash can only drop the last bucket). */
  removes: boolean;
}

/** The hash rings compared, in the order of the report and the chart. */
export const RINGS: readonly Ring[] = [
  {
    key: 'fnmesh',
    name: 'fnmesh',
    meaning: 'fnmesh ring.',
    lookupsMeaning: 'fnmesh ring lookups per second.',
    unit: 'node',
    removes: true,
  },
  {
    key: 'hashring',
    name: 'hashring package',
    meaning: 'hashring package.',
    lookupsMeaning: 'hashring package lookups per second.',
    unit: 'node',
    removes: true,
  },
  {
    key: 'jump',
    name: 'jump consistent hash',
    meaning: 'Jump consistent hash (no remove figure: it can only drop the last bucket).',
    lookupsMeaning: 'Jump consistent hash lookups per second.',
    unit: 'bucket',
    removes: false,
  },
];

/** The columns of "Functions", one row per deployed function. */
export const FUNCTION_COLUMNS: readonly Column<FunctionFigures>[] = [
  { key: 'name', heading: 'Function', type: 'string', meaning: 'Function name.', cell: (fn) => `\`${fn.name}\`` },
  {
    key: 'bundleBytes',
    heading: 'Bundle (KiB)',
    type: 'number',
    meaning: 'Size of its bundle, bytes.',
    cell: (fn) => (fn.bundleBytes / 1024).toFixed(1),
  },
  statColumn('coldInitMs', 'Cold init (ms)', 'Cold start init duration, ms.'),
  statColumn('warmInvokeMs', 'Warm invoke (ms)', 'Warm invocation duration, ms.'),
];

// ---------------------------------------------------------------------------------------------
// The substrate: each common call to the local cloud / a Python round trip (`substrate`)

/** A row of "Substrate": one common call, `substrate.calls.<key>`. */
export interface SubstrateRow {
  key: SubstrateCall;
  label: string;
}

/** The calls of the substrate section, in the order of the report. */
export const SUBSTRATE_ROWS: readonly SubstrateRow[] = [
  { key: 'dynamodbGetItem', label: 'DynamoDB GetItem (consistent)' },
  { key: 'dynamodbPutItem', label: 'DynamoDB PutItem' },
  { key: 'dynamodbConditionalUpdateItem', label: 'DynamoDB UpdateItem, conditional' },
  { key: 'dynamodbQuery', label: 'DynamoDB Query (3 items)' },
  { key: 'dynamodbTransactWriteItems', label: 'DynamoDB TransactWriteItems (2 items)' },
  { key: 'sqsSendMessage', label: 'SQS SendMessage' },
  { key: 'sqsReceiveMessage', label: 'SQS ReceiveMessage (a message waiting)' },
  { key: 'sqsDeleteMessage', label: 'SQS DeleteMessage' },
  { key: 'lambdaInvoke', label: 'Lambda Invoke (ping)' },
];

/** The substrate target, as `TargetRef`. */
export const SUBSTRATE_TARGET: TargetRef = {
  key: 'substrateCallVsFloor',
  meaning: 'Most latency of each common call to the local cloud / a Python round trip.',
};

/** The figure a substrate call is held to: call / floor, less any wait strict mode makes by design. */
export function substrateMeasured(figure: SubstrateFigure): number {
  return (figure.ratioLessDesignedWait ?? figure.ratio).median;
}

/** Whether a substrate call meets `TARGETS.substrateCallVsFloor` (at most it). */
export function substrateVerdict(figure: SubstrateFigure | undefined): Verdict {
  if (!figure) return 'none';
  return substrateMeasured(figure) <= TARGETS[SUBSTRATE_TARGET.key] ? 'pass' : 'fail';
}

// ---------------------------------------------------------------------------------------------
// The key table of latest.json

/** A key of the results: path, type, meaning. */
export type KeyRow = readonly [string, string, string];

const columnKeys = (path: string, columns: readonly { key: string; type: string; meaning: string }[]): KeyRow[] =>
  columns.map((column) => [`${path}[].${column.key}`, column.type, column.meaning] as const);

/** Every key of schema 1, in the order of the report's key table. */
export const KEYS: readonly KeyRow[] = [
  ['schema', '1', 'Version of this format.'],
  ['mode', '`smoke` | `quick` | `full`', 'How the run was started: `npm run bench -- --smoke`, `-- --quick` or `npm run bench`.'],
  ['startedAt', 'ISO string', 'When the run started.'],
  ['durationSeconds', 'number', 'How long the run took, in seconds.'],
  ['machine', 'object', 'The machine the run was measured on.'],
  ['machine.node', 'string', 'Node.js version.'],
  ['machine.cpus', 'number', 'Logical CPU count.'],
  ['machine.cpuModel', 'string', 'CPU model.'],
  ['machine.memoryGiB', 'number', 'Total memory, GiB.'],
  ['machine.os', 'string', 'Operating system.'],
  ['machine.localstack', 'string', 'LocalStack version.'],
  ['apiCallsPerOp', 'object', 'Exact API calls per logical operation, by service (SDK middleware, retries included).'],
  ...CALL_METRICS.flatMap((metric): KeyRow[] => [
    [`apiCallsPerOp.${metric.key}`, 'object', metric.meaning],
    ...Object.entries(metric.services).map(([service, meaning]) => [`apiCallsPerOp.${metric.key}.${service}`, 'number', meaning] as const),
  ]),
  [
    'wireCalls',
    'array',
    'The calls behind `apiCallsPerOp`, one entry per operation and `Service.Operation`, summed over its runs (absent from older runs).',
  ],
  ['wireCalls[].op', 'string', 'The operation: a key of `apiCallsPerOp`.'],
  ['wireCalls[].ops', 'number', 'How many of it were measured (messages, for the channel).'],
  ['wireCalls[].call', 'string', '`Service.Operation`, e.g. `DynamoDB.TransactWriteItems`.'],
  ['wireCalls[].attempts', 'number', 'Attempts on the wire, retries included.'],
  [
    'wireCalls[].conflicts',
    'number',
    'Attempts refused for a transaction conflict: `TransactionConflict` cancellations, `TransactionConflictException`, `TransactionInProgressException`.',
  ],
  [
    'wireCalls[].throttled',
    'number',
    'Attempts refused for throttling: `ThrottlingError` cancellations, `ThrottlingException`, `ProvisionedThroughputExceededException`, `RequestLimitExceeded`.',
  ],
  ['targets', 'object', 'The targets the figures are held to (fixed in schema 1).'],
  // A target some metrics share (in one process and apart) is listed once.
  ...METRICS.flatMap(({ target }, index): KeyRow[] =>
    target && METRICS.findIndex((metric) => metric.target?.key === target.key) === index
      ? [[`targets.${target.key}`, String(TARGETS[target.key]), target.meaning]]
      : [],
  ),
  [`targets.${SUBSTRATE_TARGET.key}`, String(TARGETS[SUBSTRATE_TARGET.key]), SUBSTRATE_TARGET.meaning],
  [
    'ratios',
    'object',
    'fnmesh / baseline, taken pair by pair in the same run, then the median; each is a Stat with the two sides as Stats.',
  ],
  ...RATIO_METRICS.flatMap((metric): KeyRow[] => [
    [`ratios.${metric.key}`, 'Stat', metric.meaning],
    [`ratios.${metric.key}.${metric.fnmesh.key}`, 'Stat', metric.fnmesh.meaning],
    [`ratios.${metric.key}.${metric.baseline.key}`, 'Stat', metric.baseline.meaning],
  ]),
  ['curves', 'object', 'Scaling curves.'],
  ...CURVES.flatMap((curve): KeyRow[] => [
    [`curves.${curve.key}`, 'array', curve.meaning],
    ...columnKeys(`curves.${curve.key}`, curve.columns),
  ]),
  ['hashRing', 'object', 'Consistent hashing: fnmesh against the hashring package and jump consistent hash.'],
  ['hashRing.nodes', 'number', 'Nodes on the ring.'],
  ['hashRing.keys', 'number', 'Keys placed.'],
  ...RINGS.flatMap((ring): KeyRow[] => [
    [`hashRing.${ring.key}`, 'object', ring.meaning],
    [`hashRing.${ring.key}.lookupsPerSecond`, 'Stat', ring.lookupsMeaning],
    [`hashRing.${ring.key}.maxOverMean`, 'number', `Most loaded ${ring.unit} / mean load.`],
    [`hashRing.${ring.key}.movedOnAddPercent`, 'number', `Keys that move when a ${ring.unit} is added, %.`],
    ...(ring.removes
      ? [[`hashRing.${ring.key}.movedOnRemovePercent`, 'number', `Keys that move when a ${ring.unit} is removed, %.`] as const]
      : []),
  ]),
  ['functions', 'array', 'One entry per deployed function.'],
  ...columnKeys('functions', FUNCTION_COLUMNS),
  [
    'substrate',
    'object',
    'Per-call latency of the local cloud against a bare HTTP round trip to a Python server on the same machine (absent from older runs).',
  ],
  [
    'substrate.floorMs',
    'Stat',
    "The floor: a keep-alive JSON POST to a minimal Python `http.server` on LocalStack's Python, ms, every pair of the run.",
  ],
  ['substrate.transactionWindowMs', 'number', "Strict mode's transaction commit window, ms (0 without strict mode)."],
  ['substrate.calls', 'object', 'One entry per call measured, by the keys below.'],
  ...SUBSTRATE_ROWS.flatMap((row): KeyRow[] => [
    [`substrate.calls.${row.key}`, 'object', `${row.label}.`],
    [`substrate.calls.${row.key}.ratio`, 'Stat', 'median(call) / median(floor) per run, pairs timed back to back.'],
    [`substrate.calls.${row.key}.callMs`, 'Stat', 'The call, ms (median per run).'],
    [`substrate.calls.${row.key}.floorMs`, 'Stat', 'The floor beside it, ms (median per run).'],
  ]),
  [
    'substrate.calls.dynamodbTransactWriteItems.ratioLessDesignedWait',
    'Stat',
    "(call − strict mode's commit window) / floor: the figure held to the target (strict mode only).",
  ],
  ['substrate.skipped', 'object', 'Calls not measured, by key, with why (e.g. the ping function is not deployed).'],
];
