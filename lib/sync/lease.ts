/**
 * Lease arithmetic shared by every lease-holding primitive (Mutex, RWMutex, Semaphore, Once).
 *
 *   holder's clock:  acquire ────heartbeat────heartbeat──── (stops) ···· leaseUntil
 *   contender's clock:                                                   leaseUntil + clockSkewMs
 *                                                                        └─ may take over from here
 *
 * A lease is judged expired by the contender's own clock, and only once `clockSkewMs` has also
 * passed, so a holder whose clock runs behind by up to that bound is never overtaken early. In a
 * Lambda, a lease never extends past the invocation's remaining time: a frozen or finished
 * invocation cannot heartbeat, and its lock must come free when its time is up.
 */
import { MeshAbortError, MeshConfigError } from '../errors.ts';
import type { Now } from '../internal/time.ts';

export interface LeaseOptions {
  /** How long a lease lasts without a heartbeat, in ms. @default 15000 */
  leaseMs?: number;
  /** How often a holder renews its lease, in ms; less than leaseMs. @default leaseMs / 3 */
  heartbeatMs?: number;
  /** The most two participants' clocks may disagree by, in ms. @default 1000 */
  clockSkewMs?: number;
  /**
   * Time left to the holder (in a Lambda: `() => context.getRemainingTimeInMillis()`); a lease
   * never extends beyond it.
   */
  remainingTimeMs?: () => number;
  /** The clock, epoch ms. @default Date.now */
  now?: Now;
}

export interface LeaseSettings {
  leaseMs: number;
  heartbeatMs: number;
  clockSkewMs: number;
  remainingTimeMs: (() => number) | undefined;
  now: Now;
}

const isPositiveFinite = (value: number) => Number.isFinite(value) && value > 0;

/** Validates lease options once, at construction. @throws MeshConfigError */
export function leaseSettings(options: LeaseOptions = {}): LeaseSettings {
  const leaseMs = options.leaseMs ?? 15_000;
  const heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.floor(leaseMs / 3));
  const clockSkewMs = options.clockSkewMs ?? 1_000;
  if (!isPositiveFinite(leaseMs)) throw new MeshConfigError(`leaseMs must be a positive number of ms, got ${leaseMs}`);
  if (!isPositiveFinite(heartbeatMs) || heartbeatMs >= leaseMs) {
    throw new MeshConfigError(`heartbeatMs must be positive and less than leaseMs (${leaseMs}), got ${heartbeatMs}`);
  }
  if (!Number.isFinite(clockSkewMs) || clockSkewMs < 0) throw new MeshConfigError(`clockSkewMs must be >= 0, got ${clockSkewMs}`);
  return { leaseMs, heartbeatMs, clockSkewMs, remainingTimeMs: options.remainingTimeMs, now: options.now ?? Date.now };
}

/**
 * When a lease taken or renewed now ends: `leaseMs` from now, but never past the holder's
 * remaining time. @throws MeshAbortError when no time is left to hold anything
 */
export function leaseEnd(settings: LeaseSettings, now = settings.now()): number {
  const remaining = settings.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY;
  const length = Math.min(settings.leaseMs, remaining);
  if (!(length > 0)) throw new MeshAbortError('no time left in this invocation to hold a lease');
  return now + length;
}

/** Leases that ended before this instant (contender's clock, minus the skew bound) are expired. */
export function expiredBefore(settings: LeaseSettings, now = settings.now()): number {
  return now - settings.clockSkewMs;
}

/** How long a contender waits before a lease ending at `leaseUntil` may be taken over. */
export function msUntilTakeover(settings: LeaseSettings, leaseUntil: number, now = settings.now()): number {
  return Math.max(0, leaseUntil + settings.clockSkewMs - now);
}
