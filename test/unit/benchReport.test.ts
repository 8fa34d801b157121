/**
 * The benchmark report: `stat` / `ratioStat` summarise samples, and `writeReport` renders
 * `BENCHMARKS.md` plus its SVG charts deterministically from a `BenchResults`.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS, SUBSTRATE_ROWS, SUBSTRATE_TARGET } from '../../bench/metrics.ts';
import { renderReport, writeReport } from '../../bench/report.ts';
import { ratioStat, stat, TARGETS, type BenchResults, type Stat } from '../../bench/results.ts';
import { MeshConfigError } from '../../lib/errors.ts';

const sample = fc.double({ noNaN: true, noDefaultInfinity: true });
const positive = fc.double({ min: 1e-6, max: 1e9, noNaN: true });

describe('stat', () => {
  it('keeps min ≤ median ≤ max and counts the runs', () => {
    fc.assert(
      fc.property(fc.array(sample, { minLength: 1, maxLength: 50 }), (samples) => {
        const result = stat(samples);
        expect(result.min).toBeLessThanOrEqual(result.median);
        expect(result.median).toBeLessThanOrEqual(result.max);
        expect(result.runs).toBe(samples.length);
        expect(result.min).toBe(Math.min(...samples));
        expect(result.max).toBe(Math.max(...samples));
      }),
    );
  });

  it('does not depend on the order of the samples', () => {
    expect(stat([0, -0])).toEqual(stat([-0, 0])); // -0 and 0 compare equal: the order must not leak
    expect(Object.is(stat([0, -0]).min, -0)).toBe(true);
    fc.assert(
      fc.property(
        fc
          .array(sample, { minLength: 1, maxLength: 30 })
          .chain((samples) => fc.tuple(fc.constant(samples), fc.shuffledSubarray(samples, { minLength: samples.length }))),
        ([samples, shuffled]) => {
          expect(stat(shuffled)).toEqual(stat(samples));
        },
      ),
    );
  });

  it('takes the middle sample, or the mean of the two middle ones', () => {
    expect(stat([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, runs: 3 });
    expect(stat([4, 1, 3, 10])).toEqual({ median: 3.5, min: 1, max: 10, runs: 4 });
    expect(stat([7])).toEqual({ median: 7, min: 7, max: 7, runs: 1 });
    expect(stat([-Number.MAX_VALUE, Number.MAX_VALUE]).median).toBe(0);
    expect(stat([Number.MAX_VALUE, Number.MAX_VALUE]).median).toBe(Number.MAX_VALUE);
  });

  it('throws a MeshConfigError on no samples or a non-finite one', () => {
    expect(() => stat([])).toThrow(MeshConfigError);
    expect(() => stat([1, Number.NaN])).toThrow(MeshConfigError);
    expect(() => stat([1, Number.POSITIVE_INFINITY])).toThrow(MeshConfigError);
  });
});

describe('ratioStat', () => {
  it('is the stat of the ratios pair by pair', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(positive, positive), { minLength: 1, maxLength: 30 }), (pairs) => {
        const result = ratioStat(pairs);
        expect(result).toEqual(stat(pairs.map(([a, b]) => a / b)));
        expect(result.min).toBeLessThanOrEqual(result.median);
        expect(result.median).toBeLessThanOrEqual(result.max);
        expect(result.runs).toBe(pairs.length);
      }),
    );
  });

  it('is 1 for equal pairs and the per-pair median otherwise', () => {
    expect(ratioStat([[3, 3]])).toEqual({ median: 1, min: 1, max: 1, runs: 1 });
    // Per pair: 2, 0.5, 1 → median 1 (the ratio of medians would be 20/20 too, but min/max differ).
    expect(
      ratioStat([
        [20, 10],
        [5, 10],
        [30, 30],
      ]),
    ).toEqual({ median: 1, min: 0.5, max: 2, runs: 3 });
    expect(() => ratioStat([])).toThrow(MeshConfigError);
  });
});

const s = (median: number, spread = 0.1, runs = 5): Stat => ({ median, min: median * (1 - spread), max: median * (1 + spread), runs });

/** A realistic full run in which lock latency misses its target (1.18 > `TARGETS.lockLatencyVsRaw`, 1.1). */
function sampleResults(): BenchResults {
  return {
    schema: 1,
    mode: 'full',
    startedAt: '2025-11-26T07:30:12.345Z',
    durationSeconds: 1234.5,
    machine: {
      node: 'v20.19.5',
      cpus: 2,
      cpuModel: 'AMD EPYC 7763 64-Core Processor',
      memoryGiB: 7.8,
      os: 'Linux 6.8.0 x64',
      localstack: '4.10.0',
    },
    apiCallsPerOp: {
      channelSendReceiveAck: { sqs: TARGETS.channelSqsCallsPerMessage, dynamodb: 0 },
      channelSendReceiveAckUnbatched: { sqs: 3, dynamodb: 0 },
      lockUnlock: { dynamodb: TARGETS.lockUnlockCalls },
      waitGroupDone: { dynamodb: TARGETS.waitGroupDoneCalls },
      rpcCall: { lambda: TARGETS.rpcCalls },
      once: { dynamodb: 2 },
    },
    wireCalls: [
      { op: 'waitGroupDone', ops: 10, call: 'DynamoDB.TransactWriteItems', attempts: 13, conflicts: 2, throttled: 1 },
      { op: 'channelSendReceiveAck', ops: 3000, call: 'SQS.SendMessageBatch', attempts: 300, conflicts: 0, throttled: 0 },
      { op: 'channelSendReceiveAck', ops: 3000, call: 'DynamoDB.TransactWriteItems', attempts: 1250, conflicts: 180, throttled: 7 },
    ],
    targets: TARGETS,
    ratios: {
      channelThroughputVsRaw: { ...s(0.94, 0.05), fnmeshPerSecond: s(1880), rawPerSecond: s(2000) },
      lockLatencyVsRaw: { ...s(1.18, 0.06), fnmeshMs: s(14.2), rawMs: s(12.0) },
      rpcLatencyVsRaw: { ...s(1.04, 0.03), fnmeshMs: s(31.5), rawMs: s(30.3) },
      hashRingLookupsVsHashring: { ...s(2.6, 0.08), fnmeshPerSecond: s(5_200_000), hashringPerSecond: s(2_000_000) },
      fairLockThroughputVsPolling: { ...s(1.05, 0.1), fifoPerSecond: s(26), pollingPerSecond: s(25) },
      fairLockP99OverP50: { ...s(1.6, 0.2), p99WaitMs: s(960), p50WaitMs: s(600) },
      pollingLockP99OverP50: { ...s(70, 0.2), p99WaitMs: s(5300), p50WaitMs: s(76) },
      fairLockThroughputVsPollingApart: { ...s(1.02, 0.1), fifoPerSecond: s(26.5), pollingPerSecond: s(26) },
      fairLockP99OverP50Apart: { ...s(2.1, 0.2), p99WaitMs: s(1260), p50WaitMs: s(600) },
      pollingLockP99OverP50Apart: { ...s(300, 0.2), p99WaitMs: s(5300), p50WaitMs: s(18) },
    },
    curves: {
      lockContention: [1, 2, 4, 8, 16].map((contenders) => ({
        contenders,
        throughputPerSecond: s(70 / Math.sqrt(contenders)),
        p50WaitMs: s(12 * contenders),
        p99WaitMs: s(30 * contenders * 1.3, 0.25),
        maxWaitMs: s(45 * contenders * 1.4, 0.3),
      })),
      fanOut: [
        { shards: 1, tasks: 200, seconds: s(40), speedup: 1 },
        { shards: 2, tasks: 200, seconds: s(21.5), speedup: 40 / 21.5 },
        { shards: 4, tasks: 200, seconds: s(12.1), speedup: 40 / 12.1 },
      ],
      boundedChannel: [1, 10, 100].map((capacity) => ({ capacity, messagesPerSecond: s(150 * Math.log2(capacity + 1)) })),
    },
    hashRing: {
      nodes: 10,
      keys: 100_000,
      fnmesh: { lookupsPerSecond: s(5_200_000), maxOverMean: 1.08, movedOnAddPercent: 9.2, movedOnRemovePercent: 10.1 },
      hashring: { lookupsPerSecond: s(2_000_000), maxOverMean: 1.12, movedOnAddPercent: 9.4, movedOnRemovePercent: 10.3 },
      jump: { lookupsPerSecond: s(21_000_000), maxOverMean: 1.01, movedOnAddPercent: 9.1 },
    },
    functions: [
      { name: 'hello', bundleBytes: 48_213, coldInitMs: s(310), warmInvokeMs: s(4.2) },
      { name: 'channel', bundleBytes: 212_480, coldInitMs: s(420), warmInvokeMs: s(9.8) },
    ],
    substrate: {
      floorMs: s(0.5),
      transactionWindowMs: 20,
      calls: Object.fromEntries(
        SUBSTRATE_ROWS.map(({ key }, index) => [
          key,
          {
            ratio: s(2 + index / 4),
            callMs: s(1 + index / 8),
            floorMs: s(0.5),
            ...(key === 'dynamodbTransactWriteItems' ? { ratio: s(45), callMs: s(21.5), ratioLessDesignedWait: s(3) } : {}),
          },
        ]),
      ),
      skipped: {},
    },
  };
}

/** Every key path of the results, as the report documents them: arrays as `[]`, Stat fields left out. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.length === 0 ? [] : keyPaths(value[0], `${prefix}[]`);
  if (value === null || typeof value !== 'object') return [];
  const paths: string[] = [];
  for (const [key, inner] of Object.entries(value)) {
    if (['median', 'min', 'max', 'runs'].includes(key)) continue;
    const path = prefix ? `${prefix}.${key}` : key;
    paths.push(path, ...keyPaths(inner, path));
  }
  return paths;
}

/** The table row of the markdown that mentions `needle`. */
function row(markdown: string, needle: string): string {
  const line = markdown.split('\n').find((candidate) => candidate.startsWith('|') && candidate.includes(needle));
  if (!line) throw new Error(`no table row mentions ${needle}`);
  return line;
}

describe('writeReport', () => {
  let dirs: string[] = [];
  let first: { markdownPath: string; charts: string[] };
  let markdown: string;

  beforeAll(async () => {
    dirs = await Promise.all(['a', 'b', 'c'].map((name) => mkdtemp(join(tmpdir(), `fnmesh-bench-${name}-`))));
    first = await writeReport(sampleResults(), { docsDir: dirs[0]! });
    markdown = await readFile(first.markdownPath, 'utf8');
  });

  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('writes BENCHMARKS.md with every section', () => {
    expect(first.markdownPath).toBe(join(dirs[0]!, 'BENCHMARKS.md'));
    for (const heading of [
      '# fnmesh benchmarks',
      '## How it was produced',
      '## Machine',
      '## How to read',
      '## API calls per operation',
      '## Ratios vs raw SDK',
      '## Scaling curves',
      '### Lock contention',
      '### Fan-out',
      '### Bounded channel',
      '## Hash ring vs peers',
      '## Functions',
      '## latest.json keys',
    ]) {
      expect(markdown).toMatch(new RegExp(`^${heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    }
    expect(markdown).toContain('`npm run bench`');
    expect(markdown).toContain('`npm run bench -- --quick`');
    expect(markdown).toContain('**full**');
    expect(markdown).toContain('2025-11-26 07:30 UTC');
    expect(markdown).toContain('20 min 35 s');
    expect(markdown).toContain('AMD EPYC 7763 64-Core Processor');
    expect(markdown).toContain('N = 5');
    expect(markdown).toContain('0.94 [0.893–0.987]');
  });

  it('documents every key of the results', () => {
    const keysSection = markdown.slice(markdown.indexOf('## latest.json keys'));
    const paths = keyPaths(sampleResults());
    expect(paths).toContain('curves.lockContention[].p99WaitMs');
    for (const path of paths) expect(keysSection, path).toContain(`\`${path}\``);
    for (const field of ['median', 'min', 'max', 'runs']) expect(keysSection).toContain(field);
  });

  it('marks each figure against its target', () => {
    expect(row(markdown, '`channelSendReceiveAck`')).toContain('✓');
    expect(row(markdown, '`lockUnlock`')).toContain('✓');
    expect(row(markdown, '`waitGroupDone`')).toContain('✓');
    expect(row(markdown, '`rpcCall`')).toContain('✓');
    expect(row(markdown, '`channelSendReceiveAckUnbatched`')).not.toMatch(/[✓✗]/);
    expect(row(markdown, '`channelThroughputVsRaw`')).toContain('✓');
    expect(row(markdown, '`lockLatencyVsRaw`')).toContain('✗');
    expect(row(markdown, '`rpcLatencyVsRaw`')).toContain('✓');
    expect(row(markdown, '`hashRingLookupsVsHashring`')).not.toMatch(/[✓✗]/);
    expect(markdown.match(/✗/g)).toHaveLength(2); // the failing row, and the legend in "How to read"
  });

  it('holds each figure to its target in TARGETS: met on the line, missed just past it', async () => {
    // Prepare: every targeted figure exactly on its target, then each just past it.
    const targeted = METRICS.filter((metric) => metric.target);
    // Every target is some figure's (one target may hold several: a lock in one process and apart).
    expect([...new Set([...targeted.map((metric) => metric.target!.key), SUBSTRATE_TARGET.key])].sort()).toEqual(
      Object.keys(TARGETS).sort(),
    );
    const place = (results: BenchResults, past: boolean) => {
      for (const metric of targeted) {
        const target: number = TARGETS[metric.target!.key];
        if (metric.kind === 'calls') {
          (results.apiCallsPerOp[metric.key] as Record<string, number>)[metric.target!.service] = past ? target + 0.01 : target;
        } else {
          const step = metric.better === 'higher' ? -0.01 : 0.01;
          results.ratios[metric.key].median = past ? target + step : target;
        }
      }
      return results;
    };

    // Act
    const onTarget = (await renderReport(place(sampleResults(), false))).markdown;
    const pastTarget = (await renderReport(place(sampleResults(), true))).markdown;

    // Assess
    for (const metric of targeted) {
      expect(row(onTarget, `\`${metric.key}\``), metric.key).toContain('✓');
      expect(row(pastTarget, `\`${metric.key}\``), metric.key).toContain('✗');
      expect(row(onTarget, `\`${metric.key}\``)).toContain(` ${TARGETS[metric.target!.key]} |`);
    }
  });

  it("holds each substrate call to its target, strict mode's commit window left out of a transaction", async () => {
    // Prepare
    const results = sampleResults();
    const calls = results.substrate!.calls;
    calls.dynamodbGetItem!.ratio.median = TARGETS.substrateCallVsFloor;
    calls.dynamodbPutItem!.ratio.median = TARGETS.substrateCallVsFloor + 0.01;
    delete calls.lambdaInvoke;
    results.substrate!.skipped.lambdaInvoke = 'fnmesh-local-ping is not deployed';

    // Act
    const page = (await renderReport(results)).markdown;

    // Assess
    expect(markdown).toMatch(/^## Substrate: calls vs a Python round trip$/m);
    expect(markdown).toMatch(/^### Substrate profile$/m);
    expect(row(page, '`dynamodbGetItem`')).toContain('✓');
    expect(row(page, '`dynamodbPutItem`')).toContain('✗');
    expect(row(page, '`dynamodbTransactWriteItems`')).toContain('45 [40.5–49.5]; 3 [2.7–3.3] less the 20 ms commit window');
    expect(row(page, '`dynamodbTransactWriteItems`')).toContain('✓'); // 45× with the window, 3× without
    expect(row(page, '`lambdaInvoke`')).toContain('fnmesh-local-ping is not deployed');
    expect(row(page, '`lambdaInvoke`')).not.toMatch(/[✓✗]/);
    const { substrate: _, ...older } = sampleResults();
    const olderPage = (await renderReport(older)).markdown;
    expect(olderPage.slice(olderPage.indexOf('## Substrate'))).toMatch(/_Not measured in this run._/);
  });

  it('fails an API call target that is exceeded', async () => {
    const results = sampleResults();
    results.apiCallsPerOp.rpcCall.lambda = TARGETS.rpcCalls + 1;
    const { markdownPath } = await writeReport(results, { docsDir: dirs[2]! });
    expect(row(await readFile(markdownPath, 'utf8'), '`rpcCall`')).toContain('✗');
  });

  it('lists the calls on the wire with the attempts refused for conflicts and throttling', async () => {
    const wire = markdown.slice(markdown.indexOf('### On the wire, by call'), markdown.indexOf('## Ratios vs raw SDK'));
    const lines = wire.split('\n').filter((line) => line.startsWith('| `'));
    // In the order of apiCallsPerOp, then by call.
    expect(lines).toEqual([
      '| `channelSendReceiveAck` | 3,000 | `DynamoDB.TransactWriteItems` | 1,250 | 0.417 | 180 | 7 |',
      '| `channelSendReceiveAck` | 3,000 | `SQS.SendMessageBatch` | 300 | 0.1 | 0 | 0 |',
      '| `waitGroupDone` | 10 | `DynamoDB.TransactWriteItems` | 13 | 1.3 | 2 | 1 |',
    ]);
    const { wireCalls: _, ...older } = sampleResults();
    const { markdownPath } = await writeReport(older, { docsDir: dirs[2]! });
    const olderPage = await readFile(markdownPath, 'utf8');
    expect(olderPage.slice(olderPage.indexOf('### On the wire, by call'))).toMatch(
      /^### On the wire, by call\n\n.*\n\n_Not measured in this run._/,
    );
  });

  it('writes every chart as SVG and embeds it', async () => {
    const names = first.charts.map((path) => basename(path));
    expect(names).toEqual(
      expect.arrayContaining([
        'ratios.svg',
        'lock-contention-throughput.svg',
        'lock-contention-wait.svg',
        'fan-out.svg',
        'bounded-channel.svg',
        'hash-ring.svg',
      ]),
    );
    expect((await readdir(join(dirs[0]!, 'benchmarks'))).sort()).toEqual([...names].sort());
    for (const path of first.charts) {
      expect(path.startsWith(join(dirs[0]!, 'benchmarks'))).toBe(true);
      expect((await readFile(path, 'utf8')).startsWith('<svg')).toBe(true);
      expect(markdown).toContain(`](benchmarks/${basename(path)})`);
    }
  });

  it('renders the same input to byte-identical files', async () => {
    const again = await writeReport(sampleResults(), { docsDir: dirs[1]! });
    const files = [first.markdownPath, ...first.charts];
    const repeated = [again.markdownPath, ...again.charts];
    expect(repeated.map((path) => basename(path))).toEqual(files.map((path) => basename(path)));
    for (const [index, path] of files.entries()) {
      expect((await readFile(repeated[index]!)).equals(await readFile(path)), basename(path)).toBe(true);
    }
  });

  it('refuses results of another schema', async () => {
    const results = { ...sampleResults(), schema: 2 } as unknown as BenchResults;
    await expect(writeReport(results, { docsDir: dirs[2]! })).rejects.toThrow(MeshConfigError);
  });
});
