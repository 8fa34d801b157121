/**
 * select: Go's `select` over channel receives, with a timeout or a default case.
 *
 * SQS cannot peek, so polling every case's queue at once would make each losing case take a
 * message and hand it back — raising its receive count towards the dead-letter queue and, if the
 * hand-back is lost, hiding it until its visibility timeout. fnmesh does not: a round reads every
 * case's exact count (the channel meta items), picks one ready case at random (as Go does), and
 * receives from that queue only. A case is ready when its channel has values queued, or is closed
 * and drained (Go: a receive from a closed channel proceeds at once, with ok = false).
 */
import { MeshConfigError } from '../errors.ts';
import { type BackoffOptions, pollDelayMs, sleep, throwIfAborted } from '../internal/time.ts';
import type { ChannelStatus, Received } from './types.ts';

/** What select needs of a channel (a `Channel<T>` is one). */
export interface SelectableChannel<T> {
  status(options?: { signal?: AbortSignal }): Promise<ChannelStatus>;
  receiveOnce(waitTimeSeconds: number, signal?: AbortSignal): Promise<Received<T> | 'empty'>;
}

/** A receive case: `recv(channel)`, Go's `case v, ok := <-ch`. */
export interface ReceiveCase<T> {
  readonly channel: SelectableChannel<T>;
}

export function recv<T>(channel: SelectableChannel<T>): ReceiveCase<T> {
  return { channel };
}

export interface SelectOptions {
  signal?: AbortSignal;
  /** Give up after this long: resolves `{ kind: 'timeout', index: -1 }`. Go: `case <-time.After(d)`. */
  timeoutMs?: number;
  /** Don't wait: if no case is ready now, resolve `{ kind: 'default', index: -1 }`. Go: `default:`. */
  default?: boolean;
  /** How an idle select polls the counts. @default { baseMs: 50, maxMs: 1000 } */
  poll?: BackoffOptions;
}

type CaseValue<C> = C extends ReceiveCase<infer T> ? T : never;

/** Which case was chosen (`kind: 'receive'`, its `index` and what it received), or why none was. */
export type SelectResult<Cases extends readonly ReceiveCase<unknown>[]> =
  | { [I in keyof Cases]: { kind: 'receive'; index: number } & Received<CaseValue<Cases[I]>> }[number]
  | { kind: 'timeout'; index: -1 }
  | { kind: 'default'; index: -1 };

function shuffled(indexes: number[]): number[] {
  for (let i = indexes.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [indexes[i], indexes[j]] = [indexes[j]!, indexes[i]!];
  }
  return indexes;
}

/**
 * Waits for the first ready case and returns its index and received value.
 * Cost per round: 1 GetItem per case; then, on a ready case, 1 ReceiveMessage (+ 1
 * TransactWriteItems and 1 DeleteMessageBatch for the value). Idle rounds back off from 50 ms to 1 s.
 * @throws MeshAbortError when `signal` aborts first
 */
export async function select<const Cases extends readonly ReceiveCase<unknown>[]>(
  cases: Cases,
  options: SelectOptions = {},
): Promise<SelectResult<Cases>> {
  if (!cases.length) throw new MeshConfigError('select needs at least one case');
  const { timeoutMs, signal } = options;
  if (timeoutMs !== undefined && !(timeoutMs >= 0)) throw new MeshConfigError(`timeoutMs must be >= 0, got ${timeoutMs}`);
  const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
  const poll = options.poll ?? { baseMs: 50, maxMs: 1000 };
  const statusOptions = signal ? { signal } : {};

  for (let attempt = 0; ; attempt++) {
    throwIfAborted(signal);
    const statuses = await Promise.all(cases.map((selectCase) => selectCase.channel.status(statusOptions)));
    const ready = shuffled(statuses.flatMap((status, index) => (status.queued > 0 || status.closed ? [index] : [])));
    for (const index of ready) {
      // A long poll of 1 s (SQS waits in whole seconds): a short poll samples only some of SQS's
      // servers, and may come back empty from a queue that holds a value, even with `default`.
      // It returns at once when the value is there, and waits only when another receiver has it
      // in flight: then never past the deadline.
      const left = deadline - Date.now();
      if (left <= 0) break;
      const outcome = await cases[index]!.channel.receiveOnce(left >= 1000 ? 1 : 0, signal);
      if (outcome !== 'empty') return { kind: 'receive', index, ...outcome } as SelectResult<Cases>;
    }
    if (options.default) return { kind: 'default', index: -1 };
    const left = deadline - Date.now();
    if (left <= 0) return { kind: 'timeout', index: -1 };
    await sleep(Math.min(left, pollDelayMs(attempt, poll)), signal);
  }
}
