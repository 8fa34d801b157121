/**
 * The acquire loop RWMutex and Semaphore share: one fast-path conditional write; when refused,
 * decide on the item the refusal returned (hold, write, record an intent, wait or retry); write
 * again; and between rounds wait with jittered backoff, never longer than until the lease in the
 * way could expire. A recorded intent is withdrawn if the caller gives up.
 *
 * The caller's signal stops the waits, never a write that may grant (`HolderItem.grant`).
 */
import { type BackoffOptions, backoffMs, sleep, throwIfAborted } from '../internal/time.ts';
import type { Item } from '../table/layout.ts';
import type { Attempt, HolderItem, Update } from './holderItem.ts';
import type { Clock, Decision } from './holders.ts';
import { expiredBefore, leaseEnd, type LeaseSettings } from './lease.ts';

/** Refused writes decided on again at once, before a round backs off. */
const MAX_IMMEDIATE = 8;

/** What a primitive says at each step; `until` is the lease end a grant now would get. */
export interface AcquireSteps<State, Granted> {
  fastPath(clock: Clock, until: number): Update;
  /** The state of the item a refusal returned (may throw, e.g. on a capacity mismatch). */
  readState(item: Item | undefined): State;
  decide(state: State, clock: Clock, until: number): Decision;
  fullWrite(state: State, clock: Clock, until: number): Update;
  intentWrite(clock: Clock, until: number): Update;
  grant(until: number, item: Item | undefined): Granted;
  withdrawIntent(): Promise<void>;
}

export interface AcquireContext {
  item: HolderItem;
  lease: LeaseSettings;
  backoff: BackoffOptions;
  token: string;
  /** false: one round, `undefined` if not granted (tryLock / tryAcquire). */
  wait: boolean;
  signal: AbortSignal | undefined;
}

function clockOf(lease: LeaseSettings, token: string): Clock {
  const now = lease.now();
  return { token, now, expiredBefore: expiredBefore(lease, now) };
}

export async function acquireLoop<State, Granted>(
  context: AcquireContext,
  steps: AcquireSteps<State, Granted>,
): Promise<Granted | undefined> {
  const { item, lease, backoff, token, wait, signal } = context;
  let intentRecorded = false;
  try {
    for (let attempt = 0, immediate = 0; ;) {
      throwIfAborted(signal);
      let clock = clockOf(lease, token);
      let until = leaseEnd(lease, clock.now);
      let outcome: Attempt = await item.grant(steps.fastPath(clock, until));
      if (outcome.applied) return steps.grant(until, outcome.item);
      let decision: Decision;
      for (;;) {
        const state = steps.readState(outcome.item);
        clock = clockOf(lease, token);
        until = leaseEnd(lease, clock.now);
        decision = steps.decide(state, clock, until);
        if (decision.kind === 'held') return steps.grant(decision.until, outcome.item);
        if (decision.kind === 'write') {
          outcome = await item.grant(steps.fullWrite(state, clock, until));
          if (outcome.applied) return steps.grant(until, outcome.item);
        } else if (decision.kind === 'intent' && wait) {
          outcome = await item.grant(steps.intentWrite(clock, until));
          intentRecorded = true;
          if (outcome.applied) break;
        } else {
          break;
        }
        // Refused: someone else changed the item; decide again on what the refusal returned.
        if (++immediate > MAX_IMMEDIATE) break;
      }
      if (decision.kind === 'retry' && ++immediate <= MAX_IMMEDIATE) continue;
      if (!wait) return undefined;
      immediate = 0;
      const ms = 'ms' in decision ? decision.ms : Number.POSITIVE_INFINITY;
      await sleep(Math.min(ms, backoffMs(attempt++, backoff), lease.heartbeatMs) + 1, signal);
    }
  } catch (err) {
    if (intentRecorded) await steps.withdrawIntent();
    throw err;
  }
}
