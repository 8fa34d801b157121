/**
 * Fault injection in the SDK path: an AWS SDK v3 middleware that makes a seeded share of the
 * requests fail the way the network and AWS make them fail.
 *
 *   throttle    the request is refused before it is sent (a ThrottlingException the SDK retries)
 *   network     the connection drops before the request is sent (ECONNRESET, retried)
 *   ambiguous   the request is sent and applied, then the answer is lost (ECONNRESET after the
 *               fact): the SDK retries a request that already took effect
 *
 * It sits inside the SDK's retry loop (like the wire itself), so retries and their backoff are
 * exercised for real; a request whose every attempt draws a fault fails to the caller, as it
 * would on a bad day in AWS. Use it in your own tests: `new SdkFaults({ rate, seed }).attach(client)`.
 */
import { MeshConfigError } from '../errors.ts';
import { type Random, seededRandom } from './random.ts';

export type SdkFaultKind = 'throttle' | 'network' | 'ambiguous';
export const SDK_FAULT_KINDS: readonly SdkFaultKind[] = ['throttle', 'network', 'ambiguous'];

export interface SdkFaultOptions {
  /** Share of requests (attempts) that get a fault, 0–1. */
  rate: number;
  /** Seed of the draws: the same seed and the same calls give the same faults. */
  seed: number;
  /** Which faults to draw from (uniformly). @default all three */
  kinds?: readonly SdkFaultKind[];
  /** Only requests of these operations (`PutItem`, `SendMessageBatch`, …) get faults. @default all */
  operations?: readonly string[];
  /** At most this many faults in all (e.g. 1: exactly one, on the first request drawn). @default no limit */
  limit?: number;
}

/** An error that looks, to the SDK's retry strategy and to callers, like the real one. */
export class InjectedFaultError extends Error {
  readonly $metadata: { httpStatusCode?: number; attempts: number; totalRetryDelay: number };
  readonly code: string | undefined;
  readonly $fault: 'client' | 'server';
  readonly injected: SdkFaultKind;

  constructor(kind: SdkFaultKind, operation: string) {
    super(
      kind === 'throttle'
        ? `Rate exceeded (injected fault on ${operation})`
        : `socket hang up (injected ${kind === 'ambiguous' ? 'lost answer' : 'connection reset'} on ${operation})`,
    );
    this.injected = kind;
    this.name = kind === 'throttle' ? 'ThrottlingException' : 'Error';
    this.code = kind === 'throttle' ? undefined : 'ECONNRESET';
    this.$fault = kind === 'throttle' ? 'client' : 'server';
    this.$metadata = { ...(kind === 'throttle' ? { httpStatusCode: 400 } : {}), attempts: 1, totalRetryDelay: 0 };
  }
}

/** What a middleware needs of a client: any AWS SDK v3 client has it. */
export interface MiddlewareClient {
  middlewareStack: {
    add(middleware: unknown, options: { step: 'finalizeRequest'; priority: 'low'; name: string; override?: boolean }): void;
  };
}

export class SdkFaults {
  /** Faults injected so far, by kind. */
  readonly injected: Record<SdkFaultKind, number> = { throttle: 0, network: 0, ambiguous: 0 };
  /** Requests (attempts) seen so far. */
  requests = 0;
  private readonly random: Random;
  private readonly rate: number;
  private readonly kinds: readonly SdkFaultKind[];
  private readonly operations: ReadonlySet<string> | undefined;
  private readonly limit: number;
  private enabled = true;

  constructor(options: SdkFaultOptions) {
    if (!(options.rate >= 0 && options.rate <= 1)) throw new MeshConfigError(`fault rate must be from 0 to 1, got ${options.rate}`);
    if (!Number.isInteger(options.seed)) throw new MeshConfigError(`fault seed must be an integer, got ${options.seed}`);
    const kinds = options.kinds ?? SDK_FAULT_KINDS;
    if (!kinds.length || kinds.some((kind) => !SDK_FAULT_KINDS.includes(kind)))
      throw new MeshConfigError(`fault kinds must be among ${SDK_FAULT_KINDS.join(', ')}`);
    this.random = seededRandom(options.seed);
    this.rate = options.rate;
    this.kinds = kinds;
    this.operations = options.operations ? new Set(options.operations) : undefined;
    this.limit = options.limit ?? Number.POSITIVE_INFINITY;
  }

  /** All faults injected so far. */
  get total(): number {
    return this.injected.throttle + this.injected.network + this.injected.ambiguous;
  }

  /** Stops (or resumes) injecting: e.g. to check the outcome of a run with a clean client. */
  pause(paused = true): void {
    this.enabled = !paused;
  }

  /** Adds the fault middleware to a client (any AWS SDK v3 client); returns the client. */
  attach<C extends MiddlewareClient>(client: C): C {
    client.middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        const operation = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
        this.requests++;
        const kind = this.draw(operation);
        if (kind === undefined) return next(args);
        // A lost answer needs an answer: a request the server refuses fails as it is.
        if (kind === 'ambiguous') await next(args);
        this.injected[kind]++;
        throw new InjectedFaultError(kind, operation);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'fnmeshSdkFaults', override: true },
    );
    return client;
  }

  private draw(operation: string): SdkFaultKind | undefined {
    if (!this.enabled || this.total >= this.limit || (this.operations && !this.operations.has(operation))) return undefined;
    // Two draws per request whatever the outcome, so one request's fate does not shift the next's.
    const hit = this.random() < this.rate;
    const pick = this.kinds[Math.floor(this.random() * this.kinds.length)]!;
    return hit ? pick : undefined;
  }
}
