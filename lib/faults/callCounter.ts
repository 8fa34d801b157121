/**
 * Exact API call counts: an AWS SDK v3 middleware that counts every request reaching the wire
 * (retries included), by service and operation, and which of those attempts the service refused
 * for a transaction conflict or for throttling. Deterministic, whatever the machine's noise. The
 * benchmarks count with it; use it on your own clients like `SdkFaults`:
 * `new CallCounter().attach(client, 'DynamoDB')`.
 */
import type { MiddlewareClient } from './sdkFaults.ts';

/** Why the service refused an attempt, when it is a "not now" rather than a "no". */
export type Refusal = 'conflict' | 'throttled';

/** Attempts on the wire of one `Service.Operation`, and how many were refused, and why. */
export interface CallTally {
  /** Every attempt on the wire, retries included (the SDK's own and the caller's). */
  attempts: number;
  /** Attempts refused for a transaction conflict. */
  conflicts: number;
  /** Attempts refused for throttling. */
  throttled: number;
}

/** Errors that say "another transaction holds the item" (or "your own is still in progress"). */
const CONFLICT_ERRORS = new Set(['TransactionConflictException', 'TransactionInProgressException']);
/**
 * Errors that say "too fast": DynamoDB's `ThrottlingException` (on-demand),
 * `ProvisionedThroughputExceededException` (provisioned) and `RequestLimitExceeded` (account);
 * Lambda's `TooManyRequestsException`; SQS's `RequestThrottled`.
 */
const THROTTLING_ERRORS = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
]);

/**
 * Whether a service error refused the attempt for a transaction conflict or for throttling, or
 * neither. A `TransactionCanceledException` is judged by its `CancellationReasons`: any
 * `ThrottlingError` makes it throttled, else any `TransactionConflict` a conflict; a cancellation
 * for a condition or a validation error is neither (the service said "no", not "not now").
 */
export function refusalOf(err: unknown): Refusal | undefined {
  if (!(err instanceof Error)) return undefined;
  if (CONFLICT_ERRORS.has(err.name)) return 'conflict';
  if (THROTTLING_ERRORS.has(err.name)) return 'throttled';
  if (err.name !== 'TransactionCanceledException') return undefined;
  const codes = ((err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map((reason) => reason.Code);
  if (codes.includes('ThrottlingError')) return 'throttled';
  if (codes.includes('TransactionConflict')) return 'conflict';
  return undefined;
}

/** Attempts and refusals by `Service.Operation`, counted on the clients it is attached to. */
export class CallCounter {
  private readonly tallies = new Map<string, CallTally>();

  /** @param onRefusal called at each refused attempt (e.g. to time the first throttle) */
  constructor(private readonly onRefusal?: (call: string, refusal: Refusal) => void) {}

  /** Attempts by `Service.Operation`. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.tallies].map(([key, tally]) => [key, tally.attempts]));
  }

  /** Attempts and refusals by `Service.Operation`, in name order. */
  tally(): Record<string, CallTally> {
    return Object.fromEntries([...this.tallies].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, t]) => [key, { ...t }]));
  }

  reset(): void {
    this.tallies.clear();
  }

  /** Attempts, of one service or of all. */
  total(service?: string): number {
    return this.sum('attempts', service);
  }

  /** Attempts refused for a transaction conflict, of one service or of all. */
  conflicts(service?: string): number {
    return this.sum('conflicts', service);
  }

  /** Attempts refused for throttling, of one service or of all. */
  throttled(service?: string): number {
    return this.sum('throttled', service);
  }

  private sum(field: keyof CallTally, service: string | undefined): number {
    let sum = 0;
    for (const [key, tally] of this.tallies) if (!service || key.startsWith(`${service}.`)) sum += tally[field];
    return sum;
  }

  private entry(key: string): CallTally {
    let tally = this.tallies.get(key);
    if (!tally) this.tallies.set(key, (tally = { attempts: 0, conflicts: 0, throttled: 0 }));
    return tally;
  }

  /** Adds the counting middleware to a client (any AWS SDK v3 client), naming its calls `service.Operation`; returns the client. */
  attach<C extends MiddlewareClient>(client: C, service: string): C {
    client.middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        const key = `${service}.${String(context.commandName).replace(/Command$/, '')}`;
        this.entry(key).attempts += 1;
        try {
          return await next(args);
        } catch (err) {
          // Below this step the answer is deserialized: a service error arrives here typed,
          // `CancellationReasons` included, once per attempt (the retry middleware is above).
          const refusal = refusalOf(err);
          if (refusal === 'conflict') this.entry(key).conflicts += 1;
          else if (refusal === 'throttled') this.entry(key).throttled += 1;
          if (refusal) this.onRefusal?.(key, refusal);
          throw err;
        }
      },
      // Inside the retry middleware: every attempt on the wire counts.
      { step: 'finalizeRequest', priority: 'low', name: `count-${service}` },
    );
    return client;
  }
}
