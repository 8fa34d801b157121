/**
 * The pure half of RWMutex and Semaphore: read their items (format version 1, see
 * docs/primitives/rwmutex.md and docs/primitives/semaphore.md) and decide, from what an item says
 * and this process's clock, what an acquirer does next. No I/O here, so every rule can be tested
 * without DynamoDB.
 *
 * Expiry follows lease.ts: an entry whose lease ended before `expiredBefore` (the contender's
 * clock minus the clock-skew bound) is expired, exactly as the condition `until < :expiredBefore`
 * judges it on the server.
 */
import { ItemFormatError } from '../errors.ts';
import { type Item, readNumber, readString } from '../table/layout.ts';

/** A lease recorded on an item: whose it is, and when it ends (epoch ms, holder's clock). */
export interface Lease {
  token: string;
  until: number;
}

/** A semaphore holder's entry: its weight and lease end. */
export interface Permit {
  weight: number;
  until: number;
}

/** A waiting semaphore acquirer's intent: like a Lease, plus the weight it waits for. */
export interface WeightedLease extends Lease {
  weight: number;
}

/**
 * What an acquirer does next.
 * - `held`: the item already records this token's grant (an earlier attempt was applied).
 * - `write`: grant with one version-conditioned write that also rewrites the holder map.
 * - `retry`: nothing is in the way: the single-call fast path can be tried again at once.
 * - `intent`: record (or renew) the waiter's intent, then wait about `ms`.
 * - `wait`: someone else is in the way; about `ms` until something may change.
 */
export type Decision =
  { kind: 'held'; until: number } | { kind: 'write' } | { kind: 'retry' } | { kind: 'intent'; ms: number } | { kind: 'wait'; ms: number };

/** Whether a lease ending at `until` is still live for a contender: not `until < expiredBefore`. */
export function isLive(until: number, expiredBefore: number): boolean {
  return until >= expiredBefore;
}

/** The entries of a holder map whose leases are live. */
export function liveEntries<T extends { until: number } | number>(
  entries: ReadonlyMap<string, T> | undefined,
  expiredBefore: number,
): Map<string, T> {
  const live = new Map<string, T>();
  for (const [token, entry] of entries ?? []) {
    const until = typeof entry === 'number' ? entry : entry.until;
    if (isLive(until, expiredBefore)) live.set(token, entry);
  }
  return live;
}

/** The sum of the weights of a holder map's entries. */
export function totalWeight(permits: Iterable<Permit>): number {
  let sum = 0;
  for (const permit of permits) sum += permit.weight;
  return sum;
}

/** Milliseconds until the earliest of these live leases may be taken over (0 if none is live). */
function msUntilFirstExpiry(untils: Iterable<number>, expiredBefore: number): number {
  let first = Number.POSITIVE_INFINITY;
  for (const until of untils) if (until < first) first = until;
  return Number.isFinite(first) ? Math.max(0, first - expiredBefore) : 0;
}

function mapAttribute(item: Item | undefined, attribute: string): Item | undefined {
  const value = item?.[attribute];
  if (value === undefined || value.NULL) return undefined;
  if (value.M === undefined) throw new ItemFormatError(`attribute ${attribute} is not a map`);
  return value.M;
}

function lease(item: Item | undefined, tokenAttribute: string, untilAttribute: string): Lease | undefined {
  const token = readString(item, tokenAttribute);
  if (token === undefined) return undefined;
  return { token, until: readNumber(item, untilAttribute) ?? 0 };
}

// ─── RWMutex ────────────────────────────────────────────────────────────────────────────────────

/** An RWMutex item, read. `readers` is undefined when the attribute is missing (no item yet). */
export interface RwState {
  exists: boolean;
  version: number | undefined;
  fence: number;
  writer: Lease | undefined;
  intent: Lease | undefined;
  readers: ReadonlyMap<string, number> | undefined;
}

/** Reads an RWMutex item (or its absence). @throws ItemFormatError */
export function readRwState(item: Item | undefined): RwState {
  const exists = item !== undefined && Object.keys(item).length > 0;
  const readersMap = mapAttribute(item, 'readers');
  let readers: Map<string, number> | undefined;
  if (readersMap) {
    readers = new Map();
    for (const [token, value] of Object.entries(readersMap)) {
      if (value.N === undefined) throw new ItemFormatError(`reader ${token}: lease end is not a number`);
      readers.set(token, Number(value.N));
    }
  }
  return {
    exists,
    version: readNumber(item, 'version'),
    fence: readNumber(item, 'fence') ?? 0,
    writer: lease(item, 'writer', 'writerUntil'),
    intent: lease(item, 'writerWaiting', 'writerWaitingUntil'),
    readers,
  };
}

export interface Clock {
  /** This acquisition's token. */
  token: string;
  /** Now, this process's clock (epoch ms). */
  now: number;
  /** Leases that ended before this are expired (now minus the clock-skew bound). */
  expiredBefore: number;
}

/**
 * What a reader does next. A live writer, or another live writer's intent, makes it wait (Go:
 * RLock blocks while a writer holds or waits); otherwise it may join.
 */
export function decideRead(state: RwState, { token, now, expiredBefore }: Clock): Decision {
  const mine = state.readers?.get(token);
  if (mine !== undefined && mine > now) return { kind: 'held', until: mine };
  if (state.writer && isLive(state.writer.until, expiredBefore)) return { kind: 'wait', ms: state.writer.until - expiredBefore };
  if (state.intent && state.intent.token !== token && isLive(state.intent.until, expiredBefore))
    return { kind: 'wait', ms: state.intent.until - expiredBefore };
  // Nothing in the way: only a missing readers map (a new item) needs the full write.
  return state.readers === undefined ? { kind: 'write' } : { kind: 'retry' };
}

/**
 * What a writer does next: wait for a live writer, or for another writer's live intent; while
 * live readers remain, record its own intent (renewing it when it ends before `renewBefore`) and
 * wait for them to drain; once none is live, take the lock (clearing expired readers).
 */
export function decideWrite(state: RwState, { token, now, expiredBefore }: Clock, renewBefore: number): Decision {
  const { writer, intent } = state;
  if (writer && isLive(writer.until, expiredBefore)) {
    if (writer.token === token && writer.until > now) return { kind: 'held', until: writer.until };
    return { kind: 'wait', ms: writer.until - expiredBefore };
  }
  if (intent && intent.token !== token && isLive(intent.until, expiredBefore)) return { kind: 'wait', ms: intent.until - expiredBefore };
  const live = liveEntries(state.readers, expiredBefore);
  if (live.size > 0) {
    const ms = msUntilFirstExpiry(live.values(), expiredBefore);
    const ownIntentFresh = intent !== undefined && intent.token === token && intent.until >= renewBefore;
    return ownIntentFresh ? { kind: 'wait', ms: Math.min(ms, intent.until - renewBefore) } : { kind: 'intent', ms };
  }
  // No live writer, readers, or foreign intent: take it; the full write clears expired readers.
  return state.readers === undefined || state.readers.size > 0 ? { kind: 'write' } : { kind: 'retry' };
}

// ─── Semaphore ──────────────────────────────────────────────────────────────────────────────────

/** A Semaphore item, read. */
export interface SemState {
  exists: boolean;
  version: number | undefined;
  capacity: number | undefined;
  /** The sum of the weights of every entry in `holders`, live or expired. */
  used: number;
  holders: ReadonlyMap<string, Permit> | undefined;
  waiter: WeightedLease | undefined;
}

/** Reads a Semaphore item (or its absence). @throws ItemFormatError */
export function readSemState(item: Item | undefined): SemState {
  const exists = item !== undefined && Object.keys(item).length > 0;
  const holdersMap = mapAttribute(item, 'holders');
  let holders: Map<string, Permit> | undefined;
  if (holdersMap) {
    holders = new Map();
    for (const [token, value] of Object.entries(holdersMap)) {
      const weight = readNumber(value.M, 'w');
      const until = readNumber(value.M, 'until');
      if (value.M === undefined || weight === undefined || until === undefined)
        throw new ItemFormatError(`holder ${token}: not a map of w and until`);
      holders.set(token, { weight, until });
    }
  }
  const waiter = lease(item, 'waiter', 'waiterUntil');
  return {
    exists,
    version: readNumber(item, 'version'),
    capacity: readNumber(item, 'capacity'),
    used: readNumber(item, 'used') ?? 0,
    holders,
    waiter: waiter && { ...waiter, weight: readNumber(item, 'waiterWeight') ?? 0 },
  };
}

/** The holders map a grant writes: the live entries of others, plus this acquisition's. */
export function grantHolders(state: SemState, token: string, permit: Permit, expiredBefore: number): Map<string, Permit> {
  const holders = liveEntries(state.holders, expiredBefore);
  holders.delete(token);
  holders.set(token, permit);
  return holders;
}

/**
 * What an acquirer of `weight` does next. Another acquirer's live intent makes it wait (Go's
 * waiters are served in order: a newcomer never overtakes a blocked waiter); otherwise it takes
 * the weight if the live holders leave room, else records its own intent and waits for them.
 * The caller has checked that `weight <= capacity` and that the stored capacity is `capacity`.
 */
export function decideAcquire(
  state: SemState,
  { token, now, expiredBefore }: Clock,
  weight: number,
  capacity: number,
  renewBefore: number,
): Decision {
  const mine = state.holders?.get(token);
  if (mine !== undefined && mine.until > now) return { kind: 'held', until: mine.until };
  const { waiter } = state;
  if (waiter && waiter.token !== token && isLive(waiter.until, expiredBefore)) return { kind: 'wait', ms: waiter.until - expiredBefore };
  const others = liveEntries(state.holders, expiredBefore);
  others.delete(token);
  if (totalWeight(others.values()) + weight <= capacity) {
    // The fast path only fits when the item is complete and `used` counts no expired entry.
    const clean =
      state.exists &&
      state.holders !== undefined &&
      others.size === state.holders.size &&
      state.used === totalWeight(state.holders.values());
    return clean ? { kind: 'retry' } : { kind: 'write' };
  }
  const ms = msUntilFirstExpiry(
    [...others.values()].map((permit) => permit.until),
    expiredBefore,
  );
  const ownIntentFresh = waiter !== undefined && waiter.token === token && waiter.until >= renewBefore;
  return ownIntentFresh ? { kind: 'wait', ms: Math.min(ms, waiter.until - renewBefore) } : { kind: 'intent', ms };
}
