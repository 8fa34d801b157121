/**
 * Fault injection in workers: a middy middleware that makes a seeded share of invocations fail
 * the ways Lambda workers fail, before the handler runs.
 *
 *   throw   the handler fails with InjectedWorkerFault (a function error, retried per the trigger)
 *   crash   the process exits mid-invocation (Runtime.ExitError; a fresh environment follows)
 *   hang    the invocation runs past the function's timeout (Sandbox.Timedout)
 *   pause   the whole process stops for `pauseMs` (the event loop blocked: no timer, no heartbeat,
 *           like a long GC pause), then the handler runs
 *
 * Off unless configured: by its options, or for a deployed function by the environment variable
 * FNMESH_WORKER_FAULTS, a JSON object `{ "rate": 0.1, "seed": 1, "kinds": ["throw", "crash"] }`
 * (`workerFaultsFromEnv()`). The draw is seeded by the seed and the request id, so a request
 * redelivered with a new id draws again.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { MeshConfigError, MeshError } from '../errors.ts';
import { seededRandom } from '../faults/random.ts';
import { murmur3 } from '../ring/hash.ts';

export const WORKER_FAULT_KINDS = ['throw', 'crash', 'hang', 'pause'] as const;
export type WorkerFaultKind = (typeof WORKER_FAULT_KINDS)[number];

export interface WorkerFaultOptions {
  /** Share of invocations that get a fault, 0–1. */
  rate: number;
  seed?: number;
  /** @default ['throw', 'crash', 'hang'] */
  kinds?: readonly WorkerFaultKind[];
  /** How long a `pause` stops the process. @default 10000 */
  pauseMs?: number;
}

/** The function error a `throw` fault raises. */
export class InjectedWorkerFault extends MeshError {
  override name = 'InjectedWorkerFault';
}

const optionsSchema = z.object({
  rate: z.number().min(0).max(1),
  seed: z.number().int().optional(),
  kinds: z.array(z.enum(WORKER_FAULT_KINDS)).min(1).optional(),
  pauseMs: z.number().int().min(0).max(900_000).optional(),
});

/** The options in FNMESH_WORKER_FAULTS, or undefined when it is unset or empty. @throws MeshConfigError if it is malformed */
export function workerFaultsFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerFaultOptions | undefined {
  const text = env.FNMESH_WORKER_FAULTS?.trim();
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new MeshConfigError(`FNMESH_WORKER_FAULTS is not JSON: ${text.slice(0, 100)}`);
  }
  const result = optionsSchema.safeParse(parsed);
  if (!result.success) throw new MeshConfigError(`FNMESH_WORKER_FAULTS: ${result.error.issues.map((issue) => issue.message).join('; ')}`);
  return result.data as WorkerFaultOptions;
}

/** Blocks this thread: nothing else in the process runs meanwhile. */
function freeze(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function workerFaults(options: WorkerFaultOptions): MiddlewareObj<unknown, unknown, Error, Context> {
  const { rate, seed = 1, kinds = ['throw', 'crash', 'hang'], pauseMs = 10_000 } = options;
  return {
    before: async (request) => {
      const random = seededRandom(seed ^ murmur3(request.context.awsRequestId ?? ''));
      const hit = random() < rate;
      const kind = kinds[Math.floor(random() * kinds.length)]!;
      if (!hit) return;
      console.warn(JSON.stringify({ level: 'WARN', message: 'injected worker fault', fault: kind }));
      switch (kind) {
        case 'throw':
          throw new InjectedWorkerFault(`worker fault injected (request ${request.context.awsRequestId})`);
        case 'crash':
          process.exit(137);
        case 'hang':
          await new Promise((resolve) => setTimeout(resolve, request.context.getRemainingTimeInMillis() + 60_000));
          return;
        case 'pause':
          freeze(pauseMs);
      }
    },
  };
}
