/**
 * The charts of the benchmark report: Vega-Lite specs compiled to Vega and rendered headless to
 * SVG, so the same results give byte-identical files. The ratios chart draws `RATIO_METRICS` and
 * the hash-ring chart `RINGS` (bench/metrics.ts); each curve's charts are named in `CURVES`.
 */
import { View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { group } from './format.ts';
import { RATIO_METRICS, RINGS, verdict } from './metrics.ts';
import { type BenchResults, type Stat, TARGETS } from './results.ts';

/** A chart: its file under `<docsDir>/benchmarks/`, e.g. `ratios.svg`, and its title. */
export interface ChartSpec {
  file: string;
  title: string;
  spec: TopLevelSpec;
}

const WIDTH = 460;
const HEIGHT = 240;
const config = {
  background: 'white',
  font: 'Helvetica, Arial, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6', labelLimit: 400 },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom' },
  title: { fontSize: 14, anchor: 'start' },
} as const;

/** Rows with a Stat spread out, for Vega-Lite. */
const spread = (value: Stat) => ({ median: value.median, min: value.min, max: value.max, runs: value.runs });

/** Contender or capacity axis: log base 2 where every value is positive, symlog where zero occurs. */
function countScale(values: number[]) {
  return values.length > 0 && values.every((value) => value > 0) ? { type: 'log' as const, base: 2 } : { type: 'symlog' as const };
}

/** Every chart of the report, in the order they are written. */
export function chartSpecs(results: BenchResults): ChartSpec[] {
  const { curves, hashRing } = results;
  const contenders = curves.lockContention.map((point) => point.contenders);
  const capacities = curves.boundedChannel.map((point) => point.capacity);
  const rangeTooltip = [
    { field: 'median', type: 'quantitative' as const, title: 'median', format: ',.4~g' },
    { field: 'min', type: 'quantitative' as const, format: ',.4~g' },
    { field: 'max', type: 'quantitative' as const, format: ',.4~g' },
    { field: 'runs', type: 'quantitative' as const },
  ];

  const lockThroughput: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Lock contention: throughput', subtitle: 'lock + unlock pairs per second; whiskers: min–max of runs' },
    width: WIDTH,
    height: HEIGHT,
    config,
    data: { values: curves.lockContention.map((point) => ({ contenders: point.contenders, ...spread(point.throughputPerSecond) })) },
    encoding: {
      x: {
        field: 'contenders',
        type: 'quantitative',
        title: 'contenders (log scale)',
        scale: countScale(contenders),
        axis: { values: contenders, format: 'd' },
      },
    },
    layer: [
      { mark: { type: 'rule', color: '#4c78a8' }, encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
      {
        mark: { type: 'line', point: { filled: true, color: '#4c78a8' }, color: '#4c78a8' },
        encoding: {
          y: { field: 'median', type: 'quantitative', title: 'throughput (/s)', axis: { format: ',~r' } },
          tooltip: rangeTooltip,
        },
      },
    ],
  };

  const waitRows = curves.lockContention.flatMap((point) => [
    { contenders: point.contenders, percentile: 'p50', ...spread(point.p50WaitMs) },
    { contenders: point.contenders, percentile: 'p99', ...spread(point.p99WaitMs) },
  ]);
  const percentileColor = {
    field: 'percentile',
    type: 'nominal' as const,
    title: 'wait',
    scale: { domain: ['p50', 'p99'], range: ['#4c78a8', '#e45756'] },
  };
  const lockWait: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Lock contention: wait to acquire', subtitle: 'p50 and p99 wait, ms; whiskers: min–max of runs' },
    width: WIDTH,
    height: HEIGHT,
    config,
    data: { values: waitRows },
    encoding: {
      x: {
        field: 'contenders',
        type: 'quantitative',
        title: 'contenders (log scale)',
        scale: countScale(contenders),
        axis: { values: contenders, format: 'd' },
      },
      color: percentileColor,
    },
    layer: [
      { mark: 'rule', encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
      {
        mark: { type: 'line', point: true },
        encoding: { y: { field: 'median', type: 'quantitative', title: 'wait (ms)' }, tooltip: rangeTooltip },
      },
    ],
  };

  const fanRows = curves.fanOut.map((point) => ({
    shards: point.shards,
    tasks: point.tasks,
    speedup: point.speedup,
    ...spread(point.seconds),
  }));
  const speedupRows = curves.fanOut.flatMap((point) => [
    { shards: point.shards, series: 'measured', speedup: point.speedup },
    { shards: point.shards, series: 'ideal (linear)', speedup: point.shards },
  ]);
  const shardAxis = { field: 'shards', type: 'ordinal' as const, title: 'shards', axis: { labelAngle: 0 } };
  const fanOut: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Fan-out over shards', subtitle: 'seconds to finish (whiskers: min–max of runs), speed-up over 1 shard' },
    config,
    hconcat: [
      {
        width: WIDTH / 2,
        height: HEIGHT,
        data: { values: fanRows },
        encoding: { x: shardAxis },
        layer: [
          {
            mark: { type: 'bar', color: '#4c78a8', width: { band: 0.6 } },
            encoding: { y: { field: 'median', type: 'quantitative', title: 'seconds' }, tooltip: rangeTooltip },
          },
          { mark: { type: 'rule', color: '#222' }, encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
        ],
      },
      {
        width: WIDTH / 2,
        height: HEIGHT,
        data: { values: speedupRows },
        mark: { type: 'line', point: true },
        encoding: {
          x: shardAxis,
          y: { field: 'speedup', type: 'quantitative', title: 'speed-up (×)' },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: { domain: ['measured', 'ideal (linear)'], range: ['#f58518', '#9d9d9d'] },
          },
          strokeDash: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: {
              domain: ['measured', 'ideal (linear)'],
              range: [
                [1, 0],
                [4, 4],
              ],
            },
          },
          tooltip: [
            { field: 'shards', type: 'ordinal' },
            { field: 'series', type: 'nominal' },
            { field: 'speedup', type: 'quantitative', format: '.3~g' },
          ],
        },
      },
    ],
  };

  const boundedChannel: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Bounded channel throughput', subtitle: 'messages per second by capacity; whiskers: min–max of runs' },
    width: WIDTH,
    height: HEIGHT,
    config,
    data: { values: curves.boundedChannel.map((point) => ({ capacity: point.capacity, ...spread(point.messagesPerSecond) })) },
    encoding: {
      x: {
        field: 'capacity',
        type: 'quantitative',
        title: 'capacity (log scale)',
        scale: countScale(capacities),
        axis: { values: capacities, format: 'd' },
      },
    },
    layer: [
      { mark: { type: 'rule', color: '#54a24b' }, encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
      {
        mark: { type: 'line', point: { filled: true, color: '#54a24b' }, color: '#54a24b' },
        encoding: { y: { field: 'median', type: 'quantitative', title: 'messages/s', axis: { format: ',~r' } }, tooltip: rangeTooltip },
      },
    ],
  };

  const verdictText = { pass: 'meets target', fail: 'misses target', none: 'no target' } as const;
  const ratioData = RATIO_METRICS.map((metric) => ({
    label: `${metric.key} (${metric.better} is better)`,
    verdict: verdictText[verdict(metric, results)],
    target: metric.target ? TARGETS[metric.target.key] : null,
    ...spread(results.ratios[metric.key]),
  }));
  const ratioY = { field: 'label', type: 'nominal' as const, title: null, sort: null };
  const ratios: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Ratios vs raw SDK',
      subtitle: 'black tick: target; dashed: parity (1); whiskers: min–max of runs',
    },
    width: WIDTH,
    height: { step: 36 },
    config,
    data: { values: ratioData },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.6 } },
        encoding: {
          y: ratioY,
          x: { field: 'median', type: 'quantitative', title: 'fnmesh / baseline' },
          color: {
            field: 'verdict',
            type: 'nominal',
            title: null,
            scale: { domain: ['meets target', 'misses target', 'no target'], range: ['#54a24b', '#e45756', '#9d9d9d'] },
          },
          tooltip: [{ field: 'label', type: 'nominal' }, ...rangeTooltip, { field: 'target', type: 'quantitative' }],
        },
      },
      { mark: { type: 'rule', color: '#222' }, encoding: { y: ratioY, x: { field: 'min', type: 'quantitative' }, x2: { field: 'max' } } },
      {
        mark: { type: 'tick', color: '#000', thickness: 3, orient: 'vertical' },
        transform: [{ filter: 'datum.target != null' }],
        encoding: { y: ratioY, x: { field: 'target', type: 'quantitative' } },
      },
      {
        data: { values: [{ parity: 1 }] },
        mark: { type: 'rule', color: '#888', strokeDash: [4, 4] },
        encoding: { x: { field: 'parity', type: 'quantitative' } },
      },
    ],
  };

  const ringData = RINGS.map((ring) => ({ implementation: ring.key, ...spread(hashRing[ring.key].lookupsPerSecond) }));
  const ringY = { field: 'implementation', type: 'nominal' as const, title: null, sort: null };
  const ring: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Hash ring lookups per second',
      subtitle: `${group(hashRing.keys)} keys over ${hashRing.nodes} nodes; whiskers: min–max of runs`,
    },
    width: WIDTH,
    height: { step: 36 },
    config,
    data: { values: ringData },
    encoding: { y: ringY },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.6 } },
        encoding: {
          x: { field: 'median', type: 'quantitative', title: 'lookups/s', axis: { format: ',~s' } },
          color: {
            field: 'implementation',
            type: 'nominal',
            legend: null,
            scale: { domain: RINGS.map((ring) => ring.key), range: ['#4c78a8', '#f58518', '#9d9d9d'] },
          },
          tooltip: [{ field: 'implementation', type: 'nominal' }, ...rangeTooltip],
        },
      },
      { mark: { type: 'rule', color: '#222' }, encoding: { x: { field: 'min', type: 'quantitative' }, x2: { field: 'max' } } },
    ],
  };

  return [
    { file: 'ratios.svg', title: 'Ratios vs raw SDK, with targets', spec: ratios },
    { file: 'lock-contention-throughput.svg', title: 'Lock contention: throughput vs contenders', spec: lockThroughput },
    { file: 'lock-contention-wait.svg', title: 'Lock contention: p50 and p99 wait vs contenders', spec: lockWait },
    { file: 'fan-out.svg', title: 'Fan-out: seconds and speed-up vs shards', spec: fanOut },
    { file: 'bounded-channel.svg', title: 'Bounded channel: messages per second vs capacity', spec: boundedChannel },
    { file: 'hash-ring.svg', title: 'Hash ring lookups per second: fnmesh, hashring, jump', spec: ring },
  ];
}

/** The chart as SVG, ending in a newline. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg.endsWith('\n') ? svg : `${svg}\n`;
  } finally {
    view.finalize();
  }
}
