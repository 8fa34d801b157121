/**
 * The pure rules of RWMutex and Semaphore (lib/sync/holders.ts): which holders are live, what an
 * acquirer decides from an item, and that a grant never exceeds what the rules allow.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ItemFormatError } from '../../lib/errors.ts';
import {
  type Clock,
  decideAcquire,
  decideRead,
  decideWrite,
  grantHolders,
  isLive,
  liveEntries,
  type Permit,
  readRwState,
  readSemState,
  type RwState,
  type SemState,
  totalWeight,
} from '../../lib/sync/holders.ts';

const NOW = 1_000_000;
const SKEW = 100;
const clock = (token = 'me'): Clock => ({ token, now: NOW, expiredBefore: NOW - SKEW });

/** A lease end around now: some expired, some live, some exactly on the boundary. */
const until = fc.oneof(fc.integer({ min: NOW - 5_000, max: NOW + 5_000 }), fc.constant(NOW - SKEW), fc.constant(NOW - SKEW - 1));
const token = fc.constantFrom('me', 'a', 'b', 'c', 'd');
const lease = fc.record({ token, until });

const rwState: fc.Arbitrary<RwState> = fc.record({
  exists: fc.constant(true),
  version: fc.option(fc.nat(), { nil: undefined }),
  fence: fc.nat(),
  writer: fc.option(lease, { nil: undefined }),
  intent: fc.option(lease, { nil: undefined }),
  readers: fc.option(
    fc.dictionary(token, until).map((record) => new Map(Object.entries(record))),
    { nil: undefined },
  ),
});

const permits = fc
  .dictionary(token, fc.record({ weight: fc.integer({ min: 1, max: 5 }), until }))
  .map((record) => new Map(Object.entries(record)));

const semState = (capacity: number): fc.Arbitrary<SemState> =>
  fc.record({
    exists: fc.boolean(),
    version: fc.option(fc.nat(), { nil: undefined }),
    capacity: fc.constant(capacity),
    used: fc.nat({ max: 30 }),
    holders: fc.option(permits, { nil: undefined }),
    waiter: fc.option(fc.record({ token, until, weight: fc.integer({ min: 1, max: capacity }) }), { nil: undefined }),
  });

const live = (end: number) => isLive(end, NOW - SKEW);

describe('holders', () => {
  describe('liveness', () => {
    it('counts a lease as expired only once it ended before expiredBefore, as the condition `until < :expiredBefore` does', () => {
      expect(isLive(NOW - SKEW, NOW - SKEW)).toBe(true);
      expect(isLive(NOW - SKEW - 1, NOW - SKEW)).toBe(false);
    });

    it('keeps exactly the live entries of a holder map', () => {
      fc.assert(
        fc.property(permits, (holders) => {
          const kept = liveEntries(holders, NOW - SKEW);

          for (const [holder, permit] of holders) expect(kept.has(holder)).toBe(live(permit.until));
          for (const [holder, permit] of kept) expect(holders.get(holder)).toBe(permit);
        }),
      );
    });
  });

  describe('decideRead', () => {
    it('waits while a writer is live or another writer has a live intent, and never takes a write-only step', () => {
      fc.assert(
        fc.property(rwState, (state) => {
          const decision = decideRead(state, clock());

          const mine = state.readers?.get('me');
          const blocked =
            (state.writer && live(state.writer.until)) || (state.intent && state.intent.token !== 'me' && live(state.intent.until));
          if (mine !== undefined && mine > NOW) expect(decision).toEqual({ kind: 'held', until: mine });
          else expect(decision.kind).toBe(blocked ? 'wait' : state.readers === undefined ? 'write' : 'retry');
          if (decision.kind === 'wait') expect(decision.ms).toBeGreaterThanOrEqual(0);
        }),
      );
    });
  });

  describe('decideWrite', () => {
    it('takes the lock only when no writer, no reader, and no other waiting writer is live', () => {
      fc.assert(
        fc.property(rwState, (state) => {
          const decision = decideWrite(state, clock(), NOW + 10_000);

          if (decision.kind === 'write' || decision.kind === 'retry') {
            expect(state.writer && live(state.writer.until)).toBeFalsy();
            expect(liveEntries(state.readers, NOW - SKEW).size).toBe(0);
            expect(state.intent && state.intent.token !== 'me' && live(state.intent.until)).toBeFalsy();
          }
          if (decision.kind === 'held') expect(state.writer?.token).toBe('me');
          if ('ms' in decision) expect(decision.ms).toBeGreaterThanOrEqual(0);
        }),
      );
    });

    it('records its intent while live readers hold, unless a live writer or another live intent is there', () => {
      fc.assert(
        fc.property(rwState, (state) => {
          const decision = decideWrite(state, clock(), NOW + 10_000);

          const readersLive = liveEntries(state.readers, NOW - SKEW).size > 0;
          const writerLive = state.writer !== undefined && live(state.writer.until);
          const otherIntent = state.intent !== undefined && state.intent.token !== 'me' && live(state.intent.until);
          expect(decision.kind === 'intent').toBe(
            readersLive && !writerLive && !otherIntent && !(state.intent?.token === 'me' && state.intent.until >= NOW + 10_000),
          );
        }),
      );
    });

    it('renews its own intent only when it ends before renewBefore', () => {
      const state: RwState = {
        exists: true,
        version: 3,
        fence: 1,
        writer: undefined,
        intent: { token: 'me', until: NOW + 5_000 },
        readers: new Map([['r', NOW + 9_000]]),
      };

      expect(decideWrite(state, clock(), NOW + 4_000)).toEqual({ kind: 'wait', ms: 1_000 });
      expect(decideWrite(state, clock(), NOW + 6_000).kind).toBe('intent');
    });
  });

  describe('decideAcquire', () => {
    it('grants only weights that fit beside the live holders, and never past another live waiter', () => {
      fc.assert(
        fc.property(
          fc
            .integer({ min: 1, max: 8 })
            .chain((capacity) => fc.tuple(fc.constant(capacity), semState(capacity), fc.integer({ min: 1, max: capacity }))),
          ([capacity, state, weight]) => {
            const decision = decideAcquire(state, clock(), weight, capacity, NOW + 10_000);

            if (decision.kind === 'write' || decision.kind === 'retry') {
              const others = liveEntries(state.holders, NOW - SKEW);
              others.delete('me');
              expect(totalWeight(others.values()) + weight).toBeLessThanOrEqual(capacity);
              expect(state.waiter && state.waiter.token !== 'me' && live(state.waiter.until)).toBeFalsy();
              const granted = grantHolders(state, 'me', { weight, until: NOW + 15_000 }, NOW - SKEW);
              expect(totalWeight(granted.values())).toBeLessThanOrEqual(capacity);
              for (const permit of granted.values()) expect(live(permit.until)).toBe(true);
            }
            if (decision.kind === 'retry') expect(state.used).toBe(totalWeight(state.holders!.values())); // the fast path's `used` is exact
            if ('ms' in decision) expect(decision.ms).toBeGreaterThanOrEqual(0);
          },
        ),
      );
    });

    it('recognises its own grant, applied by an attempt whose answer was lost', () => {
      const state: SemState = {
        exists: true,
        version: 2,
        capacity: 2,
        used: 2,
        holders: new Map([['me', { weight: 2, until: NOW + 3_000 }]]),
        waiter: undefined,
      };

      expect(decideAcquire(state, clock(), 2, 2, NOW + 10_000)).toEqual({ kind: 'held', until: NOW + 3_000 });
    });

    it('reclaims the weight of expired holders with a full write', () => {
      const state: SemState = {
        exists: true,
        version: 7,
        capacity: 3,
        used: 3,
        holders: new Map([['dead', { weight: 3, until: NOW - SKEW - 1 }]]),
        waiter: undefined,
      };

      expect(decideAcquire(state, clock(), 3, 3, NOW + 10_000)).toEqual({ kind: 'write' });
      expect([...grantHolders(state, 'me', { weight: 3, until: NOW + 1 }, NOW - SKEW).keys()]).toEqual(['me']);
    });
  });

  describe('item reading', () => {
    it('reads the documented RWMutex attributes', () => {
      const state = readRwState({
        pk: { S: 'rwmutex#x' },
        sk: { S: 'lock' },
        readers: { M: { 'a/1': { N: '10' } } },
        writerWaiting: { S: 'w/2' },
        writerWaitingUntil: { N: '20' },
        fence: { N: '4' },
        version: { N: '9' },
        v: { N: '1' },
      });

      expect(state).toEqual({
        exists: true,
        version: 9,
        fence: 4,
        writer: undefined,
        intent: { token: 'w/2', until: 20 },
        readers: new Map([['a/1', 10]]),
      });
      expect(readRwState(undefined)).toMatchObject({ exists: false, version: undefined, readers: undefined });
    });

    it('reads the documented Semaphore attributes', () => {
      const state = readSemState({
        capacity: { N: '5' },
        used: { N: '3' },
        holders: { M: { 'a/1': { M: { w: { N: '3' }, until: { N: '10' } } } } },
        waiter: { S: 'b/2' },
        waiterWeight: { N: '4' },
        waiterUntil: { N: '20' },
        version: { N: '2' },
      });

      expect(state).toEqual({
        exists: true,
        version: 2,
        capacity: 5,
        used: 3,
        holders: new Map<string, Permit>([['a/1', { weight: 3, until: 10 }]]),
        waiter: { token: 'b/2', until: 20, weight: 4 },
      });
    });

    it('refuses items that do not follow the format', () => {
      expect(() => readRwState({ readers: { S: 'nope' } })).toThrow(ItemFormatError);
      expect(() => readRwState({ readers: { M: { a: { S: 'x' } } } })).toThrow(ItemFormatError);
      expect(() => readSemState({ holders: { M: { a: { N: '1' } } } })).toThrow(ItemFormatError);
    });
  });
});
