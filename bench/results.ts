/**
 * The shape of `bench/results/latest.json` (schema 1), written by `bench/run.ts` and rendered into
 * `docs/BENCHMARKS.md` by `bench/report.ts`. Key names are stable so runs can be compared.
 *
 * All durations are in milliseconds unless the key says seconds. Every measured figure is a
 * `Stat`: the median of several runs, with its spread.
 */
import { MeshConfigError } from '../lib/errors.ts';

/** A measured figure: the median of `runs` samples, with the smallest and largest of them. */
export interface Stat {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** Exact API call counts (SDK middleware) per logical operation. */
export interface ApiCallsPerOp {
  /** Batched (sendMany + range), per message. */
  channelSendReceiveAck: { sqs: number; dynamodb: number };
  /** send + receive, per message. */
  channelSendReceiveAckUnbatched: { sqs: number; dynamodb: number };
  lockUnlock: { dynamodb: number };
  waitGroupDone: { dynamodb: number };
  rpcCall: { lambda: number };
  /** First run of a key. */
  once: { dynamodb: number };
}

/**
 * What one logical operation of `apiCallsPerOp` sent on the wire as one `Service.Operation`, over
 * all its measured runs: every attempt (retries included), and those the service refused for a
 * transaction conflict or for throttling (lib/faults/callCounter.ts).
 */
export interface WireCalls {
  /** The logical operation, a key of `apiCallsPerOp`. */
  op: keyof ApiCallsPerOp;
  /** How many of them were measured (messages, for the channel rows). */
  ops: number;
  /** `Service.Operation`, e.g. `DynamoDB.TransactWriteItems`. */
  call: string;
  attempts: number;
  /** Refused: `TransactionConflict` cancellations, `TransactionConflictException`, `TransactionInProgressException`. */
  conflicts: number;
  /** Refused: `ThrottlingError` cancellations, `ThrottlingException`, `ProvisionedThroughputExceededException`, … */
  throttled: number;
}

/**
 * The targets the figures are held to, fixed for schema 1: every run records them under `targets`,
 * and the report (bench/metrics.ts says which figure each one holds) and the tests compare against
 * these. Call counts are upper bounds; a ratio's bound is a floor where higher is better.
 */
export const TARGETS = {
  /** At most this many SQS calls per message, batched (`apiCallsPerOp.channelSendReceiveAck.sqs`). */
  channelSqsCallsPerMessage: 0.3,
  /** At most this many DynamoDB calls per lock + unlock. */
  lockUnlockCalls: 2,
  /** At most this many DynamoDB calls per WaitGroup done. */
  waitGroupDoneCalls: 1,
  /** At most this many Lambda calls per RPC call. */
  rpcCalls: 1,
  /** At least this channel throughput, fnmesh / raw SQS. */
  channelThroughputVsRaw: 0.9,
  /** At most this lock + unlock latency, fnmesh / raw DynamoDB. */
  lockLatencyVsRaw: 1.1,
  /** At most this RPC latency, fnmesh / raw Lambda Invoke. */
  rpcLatencyVsRaw: 1.1,
  /** At most this latency of each common call to the local cloud / a bare HTTP round trip to a Python server (`substrate`). */
  substrateCallVsFloor: 4,
  /** At least this lock throughput at 16 contenders, starvation mode ('fifo') / polling. */
  fairLockThroughputVsPolling: 1,
  /** At most this p99 / p50 wait at 16 contenders, starvation mode ('fifo'). */
  fairLockP99OverP50: 5,
} as const;

export type Targets = typeof TARGETS;

/** fnmesh / raw SDK, taken pair by pair in the same run, then the median. */
export interface Ratios {
  /** Higher is better, target `TARGETS.channelThroughputVsRaw`. */
  channelThroughputVsRaw: Stat & { fnmeshPerSecond: Stat; rawPerSecond: Stat };
  /** Lower is better, target `TARGETS.lockLatencyVsRaw`. */
  lockLatencyVsRaw: Stat & { fnmeshMs: Stat; rawMs: Stat };
  /** Lower is better, target `TARGETS.rpcLatencyVsRaw`. */
  rpcLatencyVsRaw: Stat & { fnmeshMs: Stat; rawMs: Stat };
  /** Higher is better. */
  hashRingLookupsVsHashring: Stat & { fnmeshPerSecond: Stat; hashringPerSecond: Stat };
  /** 16 contenders, same run: fifo / polling lock + unlock pairs per second. Higher is better, target `TARGETS.fairLockThroughputVsPolling`. */
  fairLockThroughputVsPolling: Stat & { fifoPerSecond: Stat; pollingPerSecond: Stat };
  /** 16 contenders, fifo: p99 / p50 wait. Lower is better, target `TARGETS.fairLockP99OverP50`. */
  fairLockP99OverP50: Stat & { p99WaitMs: Stat; p50WaitMs: Stat };
  /** 16 contenders, polling (the same run): p99 / p50 wait, for comparison. */
  pollingLockP99OverP50: Stat & { p99WaitMs: Stat; p50WaitMs: Stat };
  /** As `fairLockThroughputVsPolling`, each contender in a worker thread of its own (no wake-up reaches another). */
  fairLockThroughputVsPollingApart: Stat & { fifoPerSecond: Stat; pollingPerSecond: Stat };
  /** As `fairLockP99OverP50`, each contender in a worker thread of its own. */
  fairLockP99OverP50Apart: Stat & { p99WaitMs: Stat; p50WaitMs: Stat };
  /** As `pollingLockP99OverP50`, each contender in a worker thread of its own. */
  pollingLockP99OverP50Apart: Stat & { p99WaitMs: Stat; p50WaitMs: Stat };
}

export interface LockContentionPoint {
  contenders: number;
  throughputPerSecond: Stat;
  p50WaitMs: Stat;
  p99WaitMs: Stat;
  maxWaitMs: Stat;
}

export interface FanOutPoint {
  shards: number;
  tasks: number;
  seconds: Stat;
  /** seconds(1 shard) / seconds(k). */
  speedup: number;
}

export interface BoundedChannelPoint {
  capacity: number;
  /** Blocked senders woken by the room signal (`roomQueueUrl`). */
  messagesPerSecond: Stat;
  /** The same channel without a room queue: blocked senders poll the meta item (absent from older runs). */
  polledPerSecond?: Stat;
  /** messagesPerSecond / polledPerSecond, per pair (run side by side, the order alternating), then the median. */
  wakeVsPoll?: Stat;
  /** API calls per value (send + range + ack), waking. */
  callsPerValue?: { sqs: number; dynamodb: number };
  /** API calls per value, polling. */
  polledCallsPerValue?: { sqs: number; dynamodb: number };
}

export interface Curves {
  /** Contenders 1, 2, 4, 8, 16. */
  lockContention: LockContentionPoint[];
  /** Shards 1, 2, 4. */
  fanOut: FanOutPoint[];
  boundedChannel: BoundedChannelPoint[];
}

export interface RingFigures {
  lookupsPerSecond: Stat;
  maxOverMean: number;
  movedOnAddPercent: number;
  movedOnRemovePercent: number;
}

export interface HashRingResults {
  nodes: number;
  keys: number;
  fnmesh: RingFigures;
  hashring: RingFigures;
  jump: { lookupsPerSecond: Stat; maxOverMean: number; movedOnAddPercent: number };
}

export interface FunctionFigures {
  name: string;
  bundleBytes: number;
  coldInitMs: Stat;
  warmInvokeMs: Stat;
}

/** The common calls of the substrate section (bench/substrate.ts), in the report's order. */
export const SUBSTRATE_CALLS = [
  'dynamodbGetItem',
  'dynamodbPutItem',
  'dynamodbConditionalUpdateItem',
  'dynamodbQuery',
  'dynamodbTransactWriteItems',
  'sqsSendMessage',
  'sqsReceiveMessage',
  'sqsDeleteMessage',
  'lambdaInvoke',
] as const;

export type SubstrateCall = (typeof SUBSTRATE_CALLS)[number];

/** One call's figures, each pair (call, floor) timed back to back; a run's ratio is median(call) / median(floor). */
export interface SubstrateFigure {
  /** call / floor. */
  ratio: Stat;
  callMs: Stat;
  floorMs: Stat;
  /**
   * Only where the local cloud waits by design (strict mode's transaction commit window): (call − that wait) / floor,
   * the figure held to the target.
   */
  ratioLessDesignedWait?: Stat;
}

/** The substrate section: per-call latency of the local cloud against the floor any Python-hosted emulator pays. */
export interface SubstrateResults {
  /** A bare HTTP round trip (keep-alive, small JSON POST) to a Python server on LocalStack's Python, ms, every pair. */
  floorMs: Stat;
  /** Strict mode's transaction commit window, ms (0 without strict mode): a TransactWriteItems answers when it ends. */
  transactionWindowMs: number;
  calls: Partial<Record<SubstrateCall, SubstrateFigure>>;
  /** Calls not measured, with why (e.g. the ping function is not deployed). */
  skipped: Partial<Record<SubstrateCall, string>>;
}

export interface MachineInfo {
  node: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  localstack: string;
}

export interface BenchResults {
  schema: 1;
  mode: 'smoke' | 'quick' | 'full';
  /** ISO timestamp. */
  startedAt: string;
  durationSeconds: number;
  machine: MachineInfo;
  apiCallsPerOp: ApiCallsPerOp;
  /** The calls behind `apiCallsPerOp`, by `Service.Operation`, with refusals (absent from older runs). */
  wireCalls?: WireCalls[];
  targets: Targets;
  ratios: Ratios;
  curves: Curves;
  hashRing: HashRingResults;
  functions: FunctionFigures[];
  /** Per-call latency of the local cloud vs a Python round trip (absent from older runs). */
  substrate?: SubstrateResults;
}

/**
 * The median (mean of the two middle samples for an even count), min, max and count of `samples`.
 * Throws a `MeshConfigError` on no samples or a sample that is not a finite number.
 */
export function stat(samples: number[]): Stat {
  if (samples.length === 0) throw new MeshConfigError('stat() needs at least one sample');
  for (const sample of samples) {
    if (!Number.isFinite(sample)) throw new MeshConfigError(`stat() needs finite samples, got ${sample}`);
  }
  // -0 before 0 (as Math.min and Math.max order them): they compare equal, so otherwise which one
  // is min or max would depend on the order of the samples.
  const sorted = [...samples].sort((a, b) => a - b || (Object.is(a, -0) ? -1 : Object.is(b, -0) ? 1 : 0));
  const min = sorted[0]!;
  const max = sorted[sorted.length - 1]!;
  const middle = sorted.length >> 1;
  let median: number;
  if (sorted.length % 2 === 1) {
    median = sorted[middle]!;
  } else {
    const low = sorted[middle - 1]!;
    const high = sorted[middle]!;
    const mean = (low + high) / 2;
    // Halve first where the sum would overflow; clamp against rounding at the extremes.
    median = Math.min(Math.max(Number.isFinite(mean) ? mean : low / 2 + high / 2, low), high);
  }
  return { median, min, max, runs: samples.length };
}

/** `stat` of the ratios a / b, one per pair (pairs measured side by side in the same run). */
export function ratioStat(pairs: [number, number][]): Stat {
  return stat(pairs.map(([a, b]) => a / b));
}
