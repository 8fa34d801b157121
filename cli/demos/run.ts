/** What every demo shares: a run id, a trace id, and the driver's own hop in that trace. */
import { randomUUID } from 'node:crypto';
import { newTraceId, type TraceContext } from '../../lib/channel/envelope.ts';
import type { MeshContext } from '../context.ts';
import type { Output } from '../output.ts';

export interface DemoRun {
  ctx: MeshContext;
  out: Output;
  runId: string;
  traceId: string;
  /** The trace context to hand to what the driver starts (the driver's hop is their parent). */
  trace: TraceContext;
}

/** Runs `demo` as the driver hop of a fresh trace; the result document gets the trace id. */
export async function runDemo<T extends object>(
  ctx: MeshContext,
  out: Output,
  name: string,
  demo: (run: DemoRun) => Promise<T>,
): Promise<T & { traceId: string }> {
  const traceId = newTraceId();
  const hopId = randomUUID();
  const run: DemoRun = { ctx, out, runId: randomUUID().slice(0, 8), traceId, trace: { traceId, parent: hopId } };
  const result = await ctx.tracer.span({ traceId, hopId, kind: 'driver', name: `demo ${name}` }, () => demo(run));
  return { ...result, traceId };
}

/** Waits until `probe` returns a value, polling with a little backoff, or throws after `timeoutMs`. */
export async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
