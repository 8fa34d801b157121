/**
 * `fnmesh trace <traceId>`: a run hop by hop — every hop the Tracer recorded under the trace id
 * (lib/trace/Tracer.ts), in start order, with its offset from the run's first hop, its duration,
 * and on a terminal a timeline bar showing where in the run it sits; for each failed hop that ran
 * in a Lambda invocation, where its logs are (log group, stream, request id; on AWS, the console's
 * link).
 */
import { MeshConfigError } from '../../lib/errors.ts';
import type { Hop, HopKind, HopLogs } from '../../lib/trace/Tracer.ts';
import { consoleLogUrl, regionOf } from '../logLinks.ts';
import type { MeshContext } from '../context.ts';
import type { Output } from '../output.ts';

export interface TraceHop {
  /** The hop's id: what its children name as `parent`. */
  hopId: string;
  kind: HopKind;
  name: string;
  /** Epoch ms, by the clock of the process that recorded the hop. */
  startedAt: number;
  /** From the trace's first hop. */
  offsetMs: number;
  durationMs: number;
  /** `ok` or the error's name. */
  outcome: string;
  /** The parent hop's (or message's) id, or null. */
  parent: string | null;
  detail: Record<string, string | number | boolean> | null;
  /** Where its logs are, if it ran in a Lambda invocation that recorded them; else null. */
  logs: HopLogs | null;
}

export interface TraceDocument {
  traceId: string;
  /** The first hop's start (epoch ms). */
  startedAt: number;
  /** From the first hop's start to the last hop's end. */
  durationMs: number;
  hops: TraceHop[];
}

const BAR_WIDTH = 30;
const MAX_DEPTH = 8;

/** Nesting depth of each hop: 0 without a parent in this trace (parents may also be message ids). */
function depths(hops: readonly TraceHop[]): Map<string, number> {
  const parentOf = new Map(hops.map((hop) => [hop.hopId, hop.parent]));
  const result = new Map<string, number>();
  for (const hop of hops) {
    let depth = 0;
    const seen = new Set([hop.hopId]);
    for (let parent = hop.parent; parent && parentOf.has(parent) && !seen.has(parent); parent = parentOf.get(parent) ?? null) {
      seen.add(parent);
      depth++;
    }
    result.set(hop.hopId, Math.min(depth, MAX_DEPTH));
  }
  return result;
}

/** `|   =====      |`: where in the run [offset, offset + duration] sits, `BAR_WIDTH` characters wide. */
function bar(offsetMs: number, durationMs: number, totalMs: number): string {
  const scale = totalMs > 0 ? BAR_WIDTH / totalMs : 0;
  const start = Math.min(BAR_WIDTH - 1, Math.floor(offsetMs * scale));
  const length = Math.max(1, Math.min(BAR_WIDTH - start, Math.round(durationMs * scale)));
  return `|${' '.repeat(start)}${'='.repeat(length)}${' '.repeat(BAR_WIDTH - start - length)}|`;
}

function ms(value: number): string {
  return value < 1000 ? `${value} ms` : `${(value / 1000).toFixed(2)} s`;
}

function toTraceHop(hop: Hop, firstStart: number): TraceHop {
  return {
    hopId: hop.hopId ?? '',
    kind: hop.kind,
    name: hop.name,
    startedAt: hop.startedAt,
    offsetMs: hop.startedAt - firstStart,
    durationMs: Math.max(0, hop.endedAt - hop.startedAt),
    outcome: hop.outcome ?? 'ok',
    parent: hop.parent ?? null,
    detail: hop.detail ?? null,
    logs: hop.logs ?? null,
  };
}

/**
 * Every hop of a trace, in start order, with offsets from the first hop (what `fnmesh trace`
 * prints and `fnmesh ui` draws). Times come from each recording process's clock, so hops of
 * different machines can be skewed by their clocks' difference. Cost: 1 Query (consistent) per
 * 1 MB of hops.
 * @throws MeshConfigError if the trace id is empty, or no hops were recorded under it (never
 *   recorded, or expired: traces are kept a week on AWS)
 */
export async function readTrace(ctx: MeshContext, traceId: string, options: { signal?: AbortSignal } = {}): Promise<TraceDocument> {
  if (typeof traceId !== 'string' || !traceId.trim()) throw new MeshConfigError('trace needs a trace id');
  const recorded = await ctx.tracer.hops(traceId, options);
  if (!recorded.length) {
    throw new MeshConfigError(`no hops were recorded for trace ${traceId} in ${ctx.tableName} (unknown trace id, or expired)`);
  }
  // The sort key orders by start already; sorted again so that equal starts keep a stable order.
  const ordered = [...recorded].sort((a, b) => a.startedAt - b.startedAt);
  const startedAt = ordered[0]!.startedAt;
  const endedAt = Math.max(...ordered.map((hop) => hop.endedAt));
  return {
    traceId,
    startedAt,
    durationMs: Math.max(0, endedAt - startedAt),
    hops: ordered.map((hop) => toTraceHop(hop, startedAt)),
  };
}

/**
 * `fnmesh trace`: {@link readTrace}, printed for people as a timeline: offset, duration, kind,
 * name (indented under its parent hop), outcome, bar; or one JSON document with `--json`.
 * @throws MeshConfigError as readTrace does
 */
export async function showTrace(ctx: MeshContext, traceId: string, out: Output): Promise<TraceDocument> {
  const document = await readTrace(ctx, traceId);
  const failedWithLogs = document.hops.filter((hop) => hop.outcome !== 'ok' && hop.logs);
  const region = ctx.stage !== 'local' && failedWithLogs.length ? await regionOf(ctx.dynamodb) : undefined;
  out.result(document, () => {
    const depthOf = depths(document.hops);
    out.say(
      `trace ${traceId}: ${document.hops.length} hop(s) over ${ms(document.durationMs)}, from ${new Date(document.startedAt).toISOString()}`,
    );
    out.table(
      ['offset', 'duration', 'kind', 'name', 'outcome', 'timeline'],
      document.hops.map((hop) => [
        `+${ms(hop.offsetMs)}`,
        ms(hop.durationMs),
        hop.kind,
        `${'  '.repeat(depthOf.get(hop.hopId) ?? 0)}${hop.name}${hop.detail ? ` ${JSON.stringify(hop.detail)}` : ''}`,
        hop.outcome,
        bar(hop.offsetMs, hop.durationMs, document.durationMs),
      ]),
    );
    for (const hop of failedWithLogs) {
      const { group, stream, requestId } = hop.logs!;
      out.say(`logs of ${hop.name} (${hop.outcome}): group ${group}, stream ${stream}, request ${requestId}`);
      if (region) out.say(`  ${consoleLogUrl(region, hop.logs!)}`);
    }
  });
  return document;
}
