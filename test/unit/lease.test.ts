import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MeshAbortError, MeshConfigError } from '../../lib/errors.ts';
import { backoffMs, pollDelayMs } from '../../lib/internal/time.ts';
import { expiredBefore, leaseEnd, leaseSettings, msUntilTakeover } from '../../lib/sync/lease.ts';

describe('leaseSettings', () => {
  it('defaults to a 15 s lease, a heartbeat every third of it, and a 1 s skew bound', () => {
    expect(leaseSettings()).toMatchObject({ leaseMs: 15_000, heartbeatMs: 5_000, clockSkewMs: 1_000 });
  });

  it.each([
    [{ leaseMs: 0 }],
    [{ leaseMs: -5 }],
    [{ leaseMs: Number.NaN }],
    [{ leaseMs: 1000, heartbeatMs: 1000 }],
    [{ leaseMs: 1000, heartbeatMs: 0 }],
    [{ clockSkewMs: -1 }],
  ])('refuses %j with MeshConfigError', (options) => {
    expect(() => leaseSettings(options)).toThrow(MeshConfigError);
  });

  it('always yields a heartbeat shorter than the lease', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 10_000_000 }), (leaseMs) => {
        const settings = leaseSettings({ leaseMs });
        expect(settings.heartbeatMs).toBeGreaterThan(0);
        expect(settings.heartbeatMs).toBeLessThan(leaseMs);
      }),
    );
  });
});

describe('leaseEnd', () => {
  it('never extends past the remaining time of the invocation', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 100_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (leaseMs, remaining, now) => {
          const settings = leaseSettings({ leaseMs, remainingTimeMs: () => remaining, now: () => now });
          const end = leaseEnd(settings);
          expect(end).toBe(now + Math.min(leaseMs, remaining));
        },
      ),
    );
  });

  it('refuses to take a lease with no time left', () => {
    const settings = leaseSettings({ remainingTimeMs: () => 0 });

    expect(() => leaseEnd(settings)).toThrow(MeshAbortError);
  });
});

describe('expiry and takeover', () => {
  it('judges a lease expired only after the skew bound has passed too', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: -60_000, max: 60_000 }),
        (leaseUntil, clockSkewMs, offset) => {
          const now = leaseUntil + offset;
          const settings = leaseSettings({ clockSkewMs, now: () => now });
          const expired = leaseUntil < expiredBefore(settings);
          expect(expired).toBe(now > leaseUntil + clockSkewMs);
          expect(msUntilTakeover(settings, leaseUntil)).toBe(Math.max(0, leaseUntil + clockSkewMs - now));
        },
      ),
    );
  });
});

describe('backoff', () => {
  it('stays within [0, min(max, base·2^attempt)]', () => {
    fc.assert(
      fc.property(
        fc.nat(100),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (attempt, baseMs, maxMs, r) => {
          const wait = backoffMs(attempt, { baseMs, maxMs }, () => r);
          expect(wait).toBeGreaterThanOrEqual(0);
          expect(wait).toBeLessThanOrEqual(Math.min(maxMs, baseMs * 2 ** attempt));
        },
      ),
    );
  });

  it('polls no faster than half the ceiling', () => {
    fc.assert(
      fc.property(fc.nat(100), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const ceiling = Math.min(1000, 50 * 2 ** attempt);
        const wait = pollDelayMs(attempt, { baseMs: 50, maxMs: 1000 }, () => r);
        expect(wait).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
        expect(wait).toBeLessThanOrEqual(ceiling);
      }),
    );
  });
});
