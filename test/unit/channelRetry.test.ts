/**
 * The channel's one retry policy (lib/channel/retry.ts), used by `consume` and, through
 * `Channel.retryRecord`, by the SQS-triggered workers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLOCK_SKEW_MS } from '../../lib/channel/ledger.ts';
import {
  deliveriesOf,
  MAX_RETRY_DELAY_SECONDS,
  recordRetryDelaySeconds,
  retryDelaySeconds,
  untilHoldEndsSeconds,
} from '../../lib/channel/retry.ts';
import { MAX_VISIBILITY_SECONDS } from '../../lib/channel/types.ts';
import { ChannelValueHeldError } from '../../lib/errors.ts';

describe('retryDelaySeconds', () => {
  it('is 1 s after the first delivery, doubling with each, at most 60 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 1000].map(retryDelaySeconds)).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
  });

  it('never shrinks as deliveries grow, and stays within 1–60 s (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000 }), (a, b) => {
        const [fewer, more] = a <= b ? [a, b] : [b, a];

        expect(retryDelaySeconds(fewer)).toBeLessThanOrEqual(retryDelaySeconds(more));
        expect(retryDelaySeconds(more)).toBeGreaterThanOrEqual(1);
        expect(retryDelaySeconds(more)).toBeLessThanOrEqual(MAX_RETRY_DELAY_SECONDS);
      }),
    );
  });
});

describe('untilHoldEndsSeconds', () => {
  const now = 1_700_000_000_000;

  it('brings a copy back once the hold has ended on every clock: the hold, the skew allowance and 1 s', () => {
    expect(untilHoldEndsSeconds(now + 5000, now)).toBe(5 + CLOCK_SKEW_MS / 1000 + 1);
    expect(untilHoldEndsSeconds(now + 4001, now)).toBe(5 + CLOCK_SKEW_MS / 1000 + 1);
  });

  it('is at least 1 s for a hold that ended, and at most SQS longest visibility timeout', () => {
    expect(untilHoldEndsSeconds(now - 60_000, now)).toBe(1);
    expect(untilHoldEndsSeconds(now + 30 * 24 * 3600 * 1000, now)).toBe(MAX_VISIBILITY_SECONDS);
  });

  it('never brings the copy back before the hold ends plus the skew allowance (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -100_000, max: 3_600_000 }), (left) => {
        const seconds = untilHoldEndsSeconds(now + left, now);

        expect(seconds * 1000).toBeGreaterThanOrEqual(Math.min(left + CLOCK_SKEW_MS, MAX_VISIBILITY_SECONDS * 1000));
        expect(seconds).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});

describe('recordRetryDelaySeconds', () => {
  const now = 1_700_000_000_000;

  it('waits for the other receiver when the value is held, else backs off by deliveries', () => {
    const held = new ChannelValueHeldError('tasks', 'id-1', now + 10_000);

    expect(recordRetryDelaySeconds(1, held, now)).toBe(untilHoldEndsSeconds(now + 10_000, now));
    expect(recordRetryDelaySeconds(1, new Error('boom'), now)).toBe(1);
    expect(recordRetryDelaySeconds(4, new Error('boom'), now)).toBe(8);
  });
});

describe('deliveriesOf', () => {
  it("reads SQS's ApproximateReceiveCount, and counts 1 when it is missing or not a number", () => {
    expect(deliveriesOf({ ApproximateReceiveCount: '3' })).toBe(3);
    expect(deliveriesOf({ ApproximateReceiveCount: 'many' })).toBe(1);
    expect(deliveriesOf({})).toBe(1);
    expect(deliveriesOf(undefined)).toBe(1);
  });
});
