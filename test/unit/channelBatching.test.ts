/**
 * The channel's pure decisions (lib/channel/batching.ts): how values become SQS batches and
 * count-in units, what a settled send reports, how many receives fill a prefetched batch, and how
 * a poll is sorted into fresh values and copies.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cutToBytes } from '../../lib/channel/queue.ts';
import {
  countInUnits,
  fillBatches,
  MAX_RECEIVES_PER_BATCH,
  notAttempted,
  PREFETCH_WITHIN_MS,
  prefetchReceives,
  RecentIds,
  sendFailures,
  settleCopies,
  sortByMarkers,
  sortFates,
  sortPoll,
} from '../../lib/channel/batching.ts';
import { CLOCK_SKEW_MS, type Marker } from '../../lib/channel/ledger.ts';
import type { SendFate } from '../../lib/channel/types.ts';

const message = (id: string, text: string, index = 0) => ({ envelope: { id }, text, index });
const sizes = (batches: { text: string }[][]) => batches.map((batch) => batch.reduce((sum, { text }) => sum + Buffer.byteLength(text), 0));

describe('fillBatches', () => {
  it('cuts 25 small messages into batches of 10, 10 and 5', () => {
    const messages = Array.from({ length: 25 }, (_, i) => message(`m${i}`, 'x'.repeat(10)));

    const batches = fillBatches(messages, 10, 262_144);

    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 5]);
  });

  it('starts a new batch when the next body would pass the byte limit', () => {
    const messages = ['a'.repeat(60), 'b'.repeat(30), 'c'.repeat(20), 'd'.repeat(100), 'e'].map((text, i) => message(`m${i}`, text));

    const batches = fillBatches(messages, 10, 100);

    expect(sizes(batches)).toEqual([90, 20, 100, 1]);
    expect(batches.map((batch) => batch.map(({ envelope }) => envelope.id))).toEqual([['m0', 'm1'], ['m2'], ['m3'], ['m4']]);
  });

  it('keeps every message once, in order, in full batches within the limits (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', maxLength: 60 }), { maxLength: 80 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 60, max: 400 }),
        (texts, room, maxBytes) => {
          const messages = texts.map((text, i) => message(`m${i}`, text));

          const batches = fillBatches(messages, room, maxBytes);

          expect(batches.flat()).toEqual(messages);
          const bytes = sizes(batches);
          batches.forEach((batch, i) => {
            expect(batch.length).toBeGreaterThan(0);
            expect(batch.length).toBeLessThanOrEqual(room);
            expect(bytes[i]).toBeLessThanOrEqual(maxBytes);
            // Greedy: a batch is cut only when the next message did not fit.
            const next = batches[i + 1]?.[0];
            if (next) expect(batch.length === room || bytes[i]! + Buffer.byteLength(next.text) > maxBytes).toBe(true);
          });
        },
      ),
    );
  });
});

describe('countInUnits', () => {
  const batchesOf = (lengths: number[]) => lengths.map((length, b) => Array.from({ length }, (_, i) => `b${b}v${i}`));

  it('counts in up to 50 values together on an unbounded channel', () => {
    const units = countInUnits(batchesOf([10, 10, 10, 10, 10, 10, 10]), undefined, 50);

    expect(units.map((unit) => unit.map((batch) => batch.length))).toEqual([
      [10, 10, 10, 10, 10],
      [10, 10],
    ]);
  });

  it('counts in each batch alone on a bounded channel', () => {
    const units = countInUnits(batchesOf([10, 10, 3]), 100, 50);

    expect(units.map((unit) => unit.length)).toEqual([1, 1, 1]);
  });

  it('keeps the batches in order, each unit within the limit and as full as the next batch allows (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10 }), { maxLength: 40 }), fc.integer({ min: 10, max: 60 }), (lengths, maxIds) => {
        const batches = batchesOf(lengths);

        const units = countInUnits(batches, undefined, maxIds);

        expect(units.flat()).toEqual(batches);
        const totals = units.map((unit) => unit.flat().length);
        totals.forEach((total, i) => {
          expect(total).toBeLessThanOrEqual(maxIds);
          if (i + 1 < units.length) expect(total + units[i + 1]![0]!.length).toBeGreaterThan(maxIds);
        });
      }),
    );
  });
});

describe('what a settled send reports', () => {
  const messages = ['sent', 'refused', 'unknown', 'untried', 'taken'].map((id, index) => message(id, '', index));
  const fates = new Map<string, SendFate>([
    ['sent', { fate: 'sent' }],
    ['refused', { fate: 'refused', code: 'InvalidMessageContents', message: 'bad' }],
    ['unknown', { fate: 'unknown' }],
    ['taken', { fate: 'unknown' }],
  ]);

  it('counts out the refused and untried values, and abandons those whose fate is unknown', () => {
    expect(
      sortFates(
        messages.map(({ envelope }) => envelope.id),
        fates,
      ),
    ).toEqual({ notSent: ['refused', 'untried'], unknown: ['unknown', 'taken'] });
  });

  it('lists each value that did not go with its reason; an unknown one a receiver took went', () => {
    const failures = sendFailures(messages, fates, { abandoned: ['unknown'], resolvedElsewhere: false });

    expect(failures.map(({ id, index, code }) => ({ id, index, code }))).toEqual([
      { id: 'refused', index: 1, code: 'InvalidMessageContents' },
      { id: 'unknown', index: 2, code: 'OutcomeUnknown' },
      { id: 'untried', index: 3, code: 'NotAttempted' },
    ]);
    expect(failures[1]!.message).toMatch(/may or may not have taken it/);
  });

  it('says so when a receiver abandoned the send after its lease', () => {
    const [failure] = sendFailures([messages[0]!], new Map(), { abandoned: ['sent'], resolvedElsewhere: true });

    expect(failure).toMatchObject({ id: 'sent', code: 'OutcomeUnknown', message: expect.stringMatching(/outlived its lease/) });
  });

  it('lists the values of units never started as NotAttempted, with their indexes in the call', () => {
    const units = [[[message('a', '', 4), message('b', '', 5)], [message('c', '', 6)]], [[message('d', '', 7)]]];

    expect(notAttempted(units).map(({ id, index, code }) => `${id}@${index}:${code}`)).toEqual([
      'a@4:NotAttempted',
      'b@5:NotAttempted',
      'c@6:NotAttempted',
      'd@7:NotAttempted',
    ]);
  });
});

describe('prefetchReceives', () => {
  it('does not prefetch for a body that takes a second or more per batch', () => {
    expect(prefetchReceives(100, 10, 10, 1000)).toBeUndefined();
    expect(prefetchReceives(1000, 1, 10, 1000)).toBeUndefined();
  });

  it('fills the next batch with as many receives as full batches wait, at most 5', () => {
    expect(prefetchReceives(1, 10, 10, 1000)).toBe(MAX_RECEIVES_PER_BATCH);
    expect(prefetchReceives(1, 10, 10, 30)).toBe(3);
    expect(prefetchReceives(1, 10, 10, 9)).toBe(1);
    expect(prefetchReceives(0, 10, 10, 0)).toBe(1);
  });

  it('takes no more receives than the body does within a second', () => {
    // 30 ms a value, 10 a receive: 300 ms a receive, so 3 fit in a second.
    expect(prefetchReceives(30, 10, 10, 1000)).toBe(3);
    expect(prefetchReceives(60, 10, 10, 1000)).toBe(1);
  });

  it('stays within 1–5, and never grows when the body is slower or fewer values wait (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 200, noNaN: true }),
        fc.double({ min: 0, max: 200, noNaN: true }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 10 }),
        fc.nat(200),
        fc.nat(200),
        (a, b, batchLength, batchSize, w1, w2) => {
          const [fast, slow] = a <= b ? [a, b] : [b, a];
          const [fewer, more] = w1 <= w2 ? [w1, w2] : [w2, w1];

          const receives = prefetchReceives(fast, batchLength, batchSize, more);

          if (fast * batchLength >= PREFETCH_WITHIN_MS) {
            expect(receives).toBeUndefined();
            return;
          }
          expect(receives).toBeGreaterThanOrEqual(1);
          expect(receives).toBeLessThanOrEqual(MAX_RECEIVES_PER_BATCH);
          expect(prefetchReceives(fast, batchLength, batchSize, fewer)).toBeLessThanOrEqual(receives!);
          expect(prefetchReceives(slow, batchLength, batchSize, more) ?? 0).toBeLessThanOrEqual(receives!);
        },
      ),
    );
  });
});

describe('RecentIds', () => {
  it('forgets the oldest ids beyond its limit, and ids deleted', () => {
    const ids = new RecentIds(3);

    for (const id of ['a', 'b', 'c', 'd']) ids.add(id);
    ids.delete('c');

    expect(['a', 'b', 'c', 'd'].map((id) => ids.has(id))).toEqual([false, true, false, true]);
  });
});

describe('sortPoll', () => {
  const delivery = (id: string, n: number) => ({ envelope: { id }, n });

  it('makes the first delivery of each id fresh, and later ones and those of taken ids copies', () => {
    const poll = [delivery('a', 1), delivery('b', 2), delivery('a', 3), delivery('t', 4)];

    const { candidates, copies } = sortPoll(poll, new Set(['t']));

    expect([...candidates.values()].map(({ n }) => n)).toEqual([1, 2]);
    expect(copies.map(({ n }) => n)).toEqual([3, 4]);
  });

  it('keeps every delivery once: one candidate per id not taken, the rest copies (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { maxLength: 30 }),
        fc.subarray(['a', 'b', 'c', 'd', 'e']),
        (ids, taken) => {
          const poll = ids.map((id, n) => delivery(id, n));

          const { candidates, copies } = sortPoll(poll, new Set(taken));

          expect([...candidates.values(), ...copies].map(({ n }) => n).sort((x, y) => x - y)).toEqual(poll.map(({ n }) => n));
          expect([...candidates.keys()].sort()).toEqual([...new Set(ids)].filter((id) => !taken.includes(id)).sort());
          for (const [id, first] of candidates) expect(first).toBe(poll.find((d) => d.envelope.id === id));
        },
      ),
    );
  });
});

describe('settleCopies', () => {
  const copy = (id: string) => ({ envelope: { id } });

  it("deletes a copy only once its value is counted out; a copy of a value still in anyone's hands goes back", () => {
    // 'acked' was counted out by the loop; 'in-a-later-batch' is held by a later batch of it,
    // 'failed' came back, 'held-elsewhere' is another receiver's: none of their copies may go.
    const counted = new Set(['acked']);

    const { back, done } = settleCopies([copy('acked'), copy('in-a-later-batch'), copy('failed'), copy('held-elsewhere')], counted);

    expect(done.map((c) => c.envelope.id)).toEqual(['acked']);
    expect(back.map((c) => c.envelope.id)).toEqual(['in-a-later-batch', 'failed', 'held-elsewhere']);
  });
});

describe('sortByMarkers', () => {
  const now = 1_000_000;

  it('sorts ids by their markers: done, abandoned, held by another receiver, or free', () => {
    const markers = new Map<string, Marker>([
      ['done', { state: 'done' }],
      ['abandoned', { state: 'abandoned' }],
      ['held', { state: 'held', heldBy: 'h', heldUntil: now + 5000 }],
      ['justEnded', { state: 'held', heldBy: 'h', heldUntil: now - CLOCK_SKEW_MS }],
      ['ended', { state: 'held', heldBy: 'h', heldUntil: now - CLOCK_SKEW_MS - 1 }],
    ]);

    const { outcome, free } = sortByMarkers(['none', ...markers.keys()], markers, now);

    expect(outcome).toEqual({
      taken: [],
      done: ['done'],
      abandoned: ['abandoned'],
      inFlight: [
        { id: 'held', until: now + 5000 },
        { id: 'justEnded', until: now - CLOCK_SKEW_MS },
      ],
    });
    expect(free).toEqual(['none', 'ended']);
  });
});

describe('cutToBytes (a dead letter reason cut to fit SQS size limit)', () => {
  it('returns the longest prefix within the byte budget, never half a character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-composite', maxLength: 40 }), fc.nat(120), (text, bytes) => {
        const cut = cutToBytes(text, bytes);
        expect(text.startsWith(cut)).toBe(true);
        expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(bytes);
        expect(/[\uD800-\uDBFF]$/.test(cut)).toBe(false);
        // Longest: one more code point would not fit (or there is none).
        const next = [...text.slice(cut.length)][0];
        if (next !== undefined) expect(Buffer.byteLength(cut + next)).toBeGreaterThan(bytes);
      }),
    );
    expect(cutToBytes('a😀', 4)).toBe('a'); // the emoji's 4 bytes do not fit in the 3 left
  });
});
