/** Waiting, backoff and the clock: the timing pieces every primitive shares. */
import { MeshAbortError } from '../errors.ts';

export type Now = () => number;

/** The error every fnmesh method rejects with when its signal aborts. */
export function abortError(signal: AbortSignal): MeshAbortError {
  return new MeshAbortError('the operation was aborted', { cause: signal.reason });
}

/** Throws MeshAbortError if the signal has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * Waits `ms`, or rejects with MeshAbortError as soon as `signal` aborts. The timer keeps the
 * process alive: the caller is awaiting it (background timers, like heartbeats, are unref'd).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface BackoffOptions {
  /** First wait, in ms. @default 25 */
  baseMs?: number;
  /** Longest wait, in ms. @default 1000 */
  maxMs?: number;
}

/**
 * "Full jitter" exponential backoff: a uniformly random wait in [0, min(max, base·2^attempt)],
 * which spreads contenders out instead of having them retry in lockstep.
 */
export function backoffMs(attempt: number, { baseMs = 25, maxMs = 1000 }: BackoffOptions = {}, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** The SDK's per-call options carrying the caller's signal, if any. */
export function callOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}

/**
 * A polling delay: grows like the backoff but never drops below half its ceiling ("equal
 * jitter"), so a poller backs off to about one call per `maxMs` without bunching up.
 */
export function pollDelayMs(
  attempt: number,
  { baseMs = 50, maxMs = 1000 }: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Runs one SDK call that carries `signal`, reporting an abort as MeshAbortError (the SDK's own
 * abort error is an untyped `AbortError`), so every fnmesh method fails the same way on abort.
 */
export async function abortable<T>(signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (signal?.aborted && !(err instanceof MeshAbortError)) throw abortError(signal);
    throw err;
  }
}

/**
 * `work`'s outcome, or MeshAbortError as soon as `signal` aborts (the work itself is not stopped:
 * it should check the signal itself before it starts anything).
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
