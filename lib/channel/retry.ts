/**
 * When a value that was not handled comes back: the one retry policy of the channel's consumers —
 * `consume` (its failed values and the copies another receiver holds), and the SQS-triggered
 * workers through `Channel.retryRecord` (functions/worker, functions/shard).
 *
 *   a handler failed         1 s after the first delivery, doubling with each (2 s, 4 s …), at most
 *                            60 s: by the message's delivery count (SQS's ApproximateReceiveCount)
 *   another receiver holds   once that hold ends (+ the clock skew allowance, + 1 s), so the copy
 *   the value                finds the value's marker done and is deleted, or, if the holder
 *                            failed, takes it; at most SQS's longest visibility timeout
 *
 * `consume`'s 1 s first delay is the policy, because it was the channel's documented one
 * (docs/primitives/channel.md: "1 s, 2 s, 4 s … 60 s") and a failed value should come back soon:
 * the pool worker waited 2 s first (2^count), and the shard worker the whole visibility timeout.
 */
import { ChannelValueHeldError } from '../errors.ts';
import { CLOCK_SKEW_MS } from './ledger.ts';
import { MAX_VISIBILITY_SECONDS } from './types.ts';

/** The longest a failed value waits before it comes back, in seconds. */
export const MAX_RETRY_DELAY_SECONDS = 60;

/** Seconds before a value whose handler failed on delivery `deliveries` (1 = the first) comes back. */
export function retryDelaySeconds(deliveries: number): number {
  return Math.min(2 ** Math.max(0, deliveries - 1), MAX_RETRY_DELAY_SECONDS);
}

/** Seconds before a copy of a value another receiver holds until `heldUntil` (epoch ms) comes back. */
export function untilHoldEndsSeconds(heldUntil: number, now: number): number {
  return Math.min(MAX_VISIBILITY_SECONDS, Math.max(1, Math.ceil((heldUntil + CLOCK_SKEW_MS - now) / 1000) + 1));
}

/**
 * Seconds before a record that failed with `error` on delivery `deliveries` comes back: until the
 * hold ends for a value another receiver has (ChannelValueHeldError), else `retryDelaySeconds`.
 */
export function recordRetryDelaySeconds(deliveries: number, error: unknown, now: number): number {
  return error instanceof ChannelValueHeldError ? untilHoldEndsSeconds(error.heldUntil, now) : retryDelaySeconds(deliveries);
}

/** How many times SQS has handed a message out (ApproximateReceiveCount), this time included: 1 if unknown. */
export function deliveriesOf(attributes: { ApproximateReceiveCount?: string } | undefined): number {
  return Number(attributes?.ApproximateReceiveCount ?? 1) || 1;
}
