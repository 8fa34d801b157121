/**
 * One waiting `lock()` of a Mutex (or an acquire of an RWMutex or a Semaphore, through
 * queuedAcquire.ts) in starvation mode ('fifo'): the waiter that polls, queues with a ticket on the
 * primitive's item, keeps its ticket alive and is granted in ticket order (the decisions are
 * mutexQueue.ts's); the queue options they share; and the grant expressions Mutex.ts shares with it.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { MeshConfigError } from '../errors.ts';
import { type BackoffOptions, backoffMs, sleep, throwIfAborted } from '../internal/time.ts';
import { FORMAT_VERSION, type Item, n, readNumber, s } from '../table/layout.ts';
import type { Attempt, Update } from './holderItem.ts';
import { expiredBefore, leaseEnd, type LeaseSettings, msUntilTakeover } from './lease.ts';
import { GrantPace } from './grantPace.ts';
import type { LocalWakeups } from './localWakeups.ts';
import {
  decide,
  gateLive,
  type LockState,
  QUEUE_UNTIL,
  type QueueDecision,
  sharedTicketToken,
  ticketAttribute,
  ticketsOf,
  type WaiterView,
} from './mutexQueue.ts';

export type Fairness = 'fifo' | 'polling';

/** The options of starvation mode, the same for a Mutex, an RWMutex and a Semaphore. */
export interface QueueOptions {
  /**
   * 'fifo': Go's starvation mode: a waiter that has waited `starvationMs` queues with a ticket on
   * the item and is granted in ticket order; newcomers queue behind live tickets.
   * 'polling': every waiter polls and the quickest wins (such a waiter ignores the queue).
   * @default 'polling' (docs/primitives/mutex.md, "Starvation mode": across processes 'fifo'
   * moves fewer grants a second under heavy contention, because each hand-over waits for the next
   * waiter's look; inside one process the unlock wakes the next waiter)
   */
  fairness?: Fairness;
  /** How long a waiter polls before it queues ('fifo' mode). @default 25 */
  starvationMs?: number;
  /** A waiter's ticket lease: a waiter that dies holds its place this long (plus the skew bound). @default min(5000, leaseMs) */
  ticketLeaseMs?: number;
}

export interface QueueSettings {
  fairness: Fairness;
  starvationMs: number;
  ticketLeaseMs: number;
}

/** Validates the queue options once, at construction. @throws MeshConfigError */
export function queueSettings(options: QueueOptions, lease: LeaseSettings): QueueSettings {
  const fairness = options.fairness ?? 'polling';
  if (fairness !== 'fifo' && fairness !== 'polling')
    throw new MeshConfigError(`fairness must be 'fifo' or 'polling', got ${String(fairness)}`);
  const starvationMs = options.starvationMs ?? 25;
  if (!(starvationMs >= 0) || !Number.isFinite(starvationMs)) throw new MeshConfigError(`starvationMs must be >= 0, got ${starvationMs}`);
  const ticketLeaseMs = options.ticketLeaseMs ?? Math.min(5_000, lease.leaseMs);
  if (!(ticketLeaseMs > 0) || !Number.isFinite(ticketLeaseMs))
    throw new MeshConfigError(`ticketLeaseMs must be a positive number of ms, got ${ticketLeaseMs}`);
  return { fairness, starvationMs, ticketLeaseMs };
}

/** What a waiter needs of the primitive it queues for (Mutex.ts, queuedAcquire.ts; no import back, so no cycle). */
export interface QueuedLock<Held extends object> {
  /** Names the writes, e.g. `mutex orders`. */
  readonly label: string;
  /** Whether this primitive's last grant saw other waiters queue (its next waiter queues at once). */
  readonly queueSeen: boolean;
  /**
   * How fast grants of this item go by, if the item counts them (a Mutex's fence); undefined: each
   * waiter paces itself by the tickets it sees leave ahead of it.
   */
  readonly pace: GrantPace | undefined;
  /** A shared waiter (an RWMutex reader): it need not wait for shared tickets ahead of it. @default false */
  readonly shared?: boolean;
  readonly settings: { lease: LeaseSettings; backoff: BackoffOptions; queue: QueueSettings };
  /** One attempt as a newcomer (the gate holds it back): the grant, or undefined once `refused` has seen the item. */
  attempt(token: string, signal: AbortSignal | undefined, refused: (item: Item | undefined) => void): Promise<Held | undefined>;
  /** What the item says of the lock itself for this waiter: ours already, or kept out by a live lease. */
  lockState(item: Item | undefined, view: WaiterView): LockState;
  /**
   * Wake-ups inside this process (localWakeups.ts): its grants note their tokens there and their
   * releases wake the oldest queued waiter. Undefined: the waiters look by the clock alone.
   */
  readonly wakeups?: LocalWakeups;
  /**
   * One holder at a time (a Mutex): a grant leaves nothing for the waiter behind, whose turn comes
   * with the holder's release. Otherwise (shared or weighted holders) a grant wakes the next
   * waiter of this process, which may fit beside it. @default false
   */
  readonly exclusive?: boolean;
  /** The primitive's own grant (update and condition) for a queued waiter on the item seen; the queue adds its removals. */
  grantUpdate(item: Item | undefined, token: string, until: number, expiredBefore: number): Update;
  /** The held lock of a grant whose item (ALL_NEW, or a refusal recording it) is `item`. */
  held(token: string, until: number, item: Item | undefined): Held;
  write(update: Update, signal: AbortSignal | undefined): Promise<Attempt>;
}

/**
 * Attribute names and values of the grant are one or two characters: the server parses every
 * expression on every call (moto in Python: a shorter expression is a cheaper call).
 */
export const GRANT = 'SET #o = :t, #l = :u, #v = :v ADD #f :one';
/** Free, or its lease expired, or ours already (a retry whose first attempt was applied). */
export const FREE = 'attribute_not_exists(#o) OR #l < :e OR #o = :t';
/** No live queue: nobody holds a ticket whose lease (plus the skew bound) has not ended. */
export const GATE_OPEN = '(attribute_not_exists(#q) OR #q < :e)';

export function grantValues(token: string, until: number, expired: number): Record<string, AttributeValue> {
  return { ':t': s(token), ':u': n(until), ':v': n(FORMAT_VERSION), ':one': n(1), ':e': n(expired) };
}

/**
 * One waiting call in 'fifo' mode: poll until `starvationMs` has passed (or a queue is seen), then
 * queue with a ticket and take the lock when the ticket is the oldest live one.
 */
export class QueuedWaiter<Held extends object> {
  private ticket: string | undefined;
  private ticketRenewedAt = 0;
  private seen: Item | undefined;
  /** The head's poll interval while one holder (fence) holds: grows, and starts again with a new holder. */
  private headPollMs = HEAD_POLL_MIN_MS;
  private headPollFence: number | undefined;
  /** Without a counting item: this waiter's own pace, fed by the tickets it saw leave ahead of it. */
  private readonly pace: GrantPace;
  private ahead = new Set<string>();
  private passed = 0;

  constructor(
    private readonly lock: QueuedLock<Held>,
    private readonly token: string,
    private readonly askedAt: number,
  ) {
    this.pace = lock.pace ?? new GrantPace();
  }

  private get lease() {
    return this.lock.settings.lease;
  }

  private view(): WaiterView {
    return { token: this.token, ticket: this.ticket, expiredBefore: expiredBefore(this.lease, this.lease.now()) };
  }

  private observe(item: Item | undefined): void {
    this.seen = item;
    this.pace.observe(this.lock.pace ? readNumber(item, 'fence') : this.progress(item), this.lease.now());
  }

  /** How many of the tickets once ahead of ours have left the queue (granted, given up or swept). */
  private progress(item: Item | undefined): number | undefined {
    if (this.ticket === undefined) return undefined;
    const ahead = new Set(
      ticketsOf(item)
        .filter((t) => t.attribute < this.ticket!)
        .map((t) => t.attribute),
    );
    for (const attribute of this.ahead) if (!ahead.has(attribute)) this.passed++;
    this.ahead = ahead;
    return this.passed;
  }

  /** The next decision on the item last seen. */
  private decide(): QueueDecision {
    const view = this.view();
    return decide(this.seen, view, this.lock.lockState(this.seen, view), this.lock.shared);
  }

  async run(signal: AbortSignal | undefined): Promise<Held> {
    const { backoff, queue } = this.lock.settings;
    // This primitive's last grant saw others queue: go straight to the back of the queue (no fast path).
    if (this.lock.queueSeen) await this.register(signal);
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(signal);
      if (this.ticket === undefined) {
        // Polling phase: the fast path, as a newcomer.
        const granted = await this.lock.attempt(this.token, signal, (item) => this.observe(item));
        if (granted) return granted;
        const waited = this.lease.now() - this.askedAt;
        if (waited >= queue.starvationMs || gateLive(this.seen, this.view().expiredBefore)) {
          await this.register(signal);
          continue;
        }
        const holderUntil = this.lock.lockState(this.seen, this.view()).holderUntil;
        const untilTakeover = holderUntil === undefined ? Number.POSITIVE_INFINITY : msUntilTakeover(this.lease, holderUntil);
        await sleep(Math.min(untilTakeover, backoffMs(attempt, backoff)) + 1, signal);
        continue;
      }
      // Queued. A ticket the item no longer shows (it expired, and a grant removed it): take it again.
      if (this.seen?.[this.ticket] === undefined) {
        await this.register(signal);
        continue;
      }
      const decision = this.decide();
      if (decision.kind === 'held') return this.granted(decision.until, this.seen);
      if (decision.kind === 'grant') {
        const granted = await this.grant(decision);
        if (granted) return granted;
        continue; // refused: decide again on what the refusal returned
      }
      await this.sleepQueued(decision, signal);
      if (this.lease.now() - this.ticketRenewedAt >= queue.ticketLeaseMs / 2) {
        await this.register(signal); // renews the ticket and shows the item
      } else {
        // Poll with the grant itself, on condition that the waiter we saw just ahead of us no longer
        // queues (tickets leave in order, so those before it are gone too; a short condition is a
        // cheap one): one call that either takes the lock or shows the item (our place, the holder).
        // If nobody queued behind us, the grant also closes the gate (if it is still the one seen).
        const gateSeen = readNumber(this.seen, QUEUE_UNTIL);
        const behind =
          ticketsOf(this.seen).some((t) => t.attribute > this.ticket! && t.until >= this.view().expiredBefore) ||
          this.lock.wakeups?.queuedBehind(this.ticket) === true;
        const granted = await this.grant(
          { kind: 'grant', closeGate: !behind && gateSeen !== undefined, gateSeen, dead: [] },
          decision.ahead.slice(-1),
        );
        if (granted) return granted;
      }
    }
  }

  /**
   * A queued waiter's sleep before its next look. When this process holds the lock and holds
   * every live ticket ahead of ours, a release of this process will wake us (localWakeups.ts):
   * sleep until then, or until our ticket is due for renewal or the holder's lease could be
   * taken over. Otherwise, as long as `waitMs` says; a release of this process still wakes us
   * early if ours is its oldest sleeping ticket.
   */
  private async sleepQueued(decision: WaitDecision, signal: AbortSignal | undefined): Promise<void> {
    const wakeups = this.lock.wakeups;
    if (!wakeups) return sleep(this.waitMs(decision.position, decision.holderUntil) + 1, signal);
    const { holder, holderUntil } = decision;
    const covered = (holderUntil === undefined || holder !== undefined) && wakeups.covers(holder, decision.ahead);
    let ms: number;
    if (covered) {
      const untilRenewal = this.ticketRenewedAt + this.lock.settings.queue.ticketLeaseMs / 2 - this.lease.now();
      const untilTakeover = decision.holderUntil === undefined ? untilRenewal : msUntilTakeover(this.lease, decision.holderUntil);
      ms = Math.min(untilRenewal, untilTakeover);
    } else {
      ms = this.waitMs(decision.position, decision.holderUntil);
    }
    await wakeups.sleep(this.ticket!, ms + 1, signal);
  }

  /** Our grant, which the item shows: the ticket went with it. */
  private granted(until: number, item: Item | undefined): Held {
    if (this.ticket !== undefined) this.lock.wakeups?.left(this.ticket, !this.lock.exclusive);
    this.ticket = undefined;
    return this.lock.held(this.token, until, item);
  }

  /** How long a queued waiter sleeps before its next look. */
  private waitMs(position: number, holderUntil: number | undefined): number {
    const cap = this.lock.settings.queue.ticketLeaseMs / 2;
    const perGrant = this.pace.msPerGrant ?? HEAD_POLL_MIN_MS * 2;
    if (position === 0) {
      const takeover = holderUntil === undefined ? 0 : msUntilTakeover(this.lease, holderUntil);
      // A new holder (a Mutex's fence); without a fence, any change to the item (a Semaphore's version).
      const fence = readNumber(this.seen, this.lock.pace ? 'fence' : 'version');
      if (fence !== this.headPollFence) {
        // A new holder: it will hold for about one grant's time; look again a little before that.
        this.headPollFence = fence;
        this.headPollMs = Math.max(HEAD_POLL_MIN_MS, perGrant / 8);
      } else {
        this.headPollMs = Math.min(HEAD_POLL_MAX_MS, this.headPollMs * 1.3);
      }
      return Math.min(takeover, this.headPollMs * (0.75 + Math.random() / 2), cap);
    }
    // Behind others: about as long as the grants ahead of us take.
    // Capped: a pace estimate can be far off (it starts from whatever this Mutex saw last), and a
    // waiter that oversleeps its turn leaves the lock idle.
    return Math.min(cap, NON_HEAD_MAX_MS, Math.max(HEAD_POLL_MIN_MS, position * perGrant * (0.5 + Math.random() * 0.2)));
  }

  /** Takes a ticket, or renews ours (same attribute: the place in the queue is kept), and looks at the item. */
  private async register(signal: AbortSignal | undefined): Promise<void> {
    const now = this.lease.now();
    const until = now + this.lock.settings.queue.ticketLeaseMs;
    this.ticket ??= ticketAttribute(this.askedAt, this.lock.shared ? sharedTicketToken(this.token) : this.token);
    const { item } = await this.lock.write(
      {
        operation: `${this.lock.label}: queue`,
        update: 'SET #w = :w, #q = :w',
        names: { '#w': this.ticket, '#q': QUEUE_UNTIL },
        values: { ':w': n(until) },
        returnNew: true,
      },
      signal,
    );
    this.ticketRenewedAt = now;
    this.lock.wakeups?.queued(this.ticket);
    this.observe(item);
  }

  /**
   * The grant of a queued waiter: the primitive's own grant, plus (when no other live ticket is
   * left) the removal of the gate if it is still the one seen; removes our ticket and dead ones.
   * `ahead`: a poll on a view that may be stale: the tickets we saw ahead of ours must be gone.
   */
  private async grant(decision: GrantDecision, ahead: string[] = []): Promise<Held | undefined> {
    const now = this.lease.now();
    const until = leaseEnd(this.lease, now);
    const own = this.lock.grantUpdate(this.seen, this.token, until, expiredBefore(this.lease, now));
    const remove = [...new Set([this.ticket!, ...decision.dead])];
    const names: Record<string, string> = { ...own.names, '#q': QUEUE_UNTIL };
    remove.forEach((attribute, i) => (names[`#r${i}`] = attribute));
    ahead.forEach((attribute, i) => (names[`#a${i}`] = attribute));
    const closeGate = decision.closeGate && decision.gateSeen !== undefined;
    const removals = [...remove.map((_, i) => `#r${i}`), ...(closeGate ? ['#q'] : [])];
    const conditions = [
      ...(own.condition ? [`(${own.condition})`] : []),
      ...(closeGate ? ['#q = :g'] : []),
      ...ahead.map((_, i) => `attribute_not_exists(#a${i})`),
    ];
    const condition = conditions.length === 1 ? own.condition : conditions.join(' AND ');
    const { applied, item } = await this.lock.write(
      {
        operation: `${this.lock.label}: lock`,
        update: withRemovals(own.update, removals),
        ...(condition ? { condition } : {}),
        names,
        values: { ...own.values, ...(closeGate ? { ':g': n(decision.gateSeen!) } : {}) },
        returnNew: true,
      },
      undefined, // a write that may grant: never cut short by the signal (HolderItem.grant)
    );
    if (applied) return this.granted(until, item);
    this.observe(item);
    const held = this.lock.lockState(item, this.view()).held;
    return held === undefined ? undefined : this.granted(held, item);
  }

  /**
   * Gives our place up (the caller aborted or failed): removes our ticket and, if no other live
   * ticket is left, the gate (if still the one seen), so newcomers need not wait for it to expire.
   * Best effort: a ticket and a gate left behind end with their lease anyway.
   */
  async withdraw(): Promise<void> {
    if (this.ticket === undefined) return;
    const ticket = this.ticket;
    this.ticket = undefined;
    try {
      const { item } = await this.lock
        .write({ operation: `${this.lock.label}: leave queue`, update: 'REMOVE #w', names: { '#w': ticket }, returnNew: true }, undefined)
        .finally(() => this.lock.wakeups?.left(ticket, true)); // the next of this process may be the head now
      const gate = readNumber(item, QUEUE_UNTIL);
      const expired = this.view().expiredBefore;
      if (gate === undefined || ticketsOf(item).some((t) => t.until >= expired)) return;
      await this.lock.write(
        {
          operation: `${this.lock.label}: close queue`,
          update: 'REMOVE #q',
          condition: '#q = :g',
          names: { '#q': QUEUE_UNTIL },
          values: { ':g': n(gate) },
        },
        undefined,
      );
    } catch {
      // best effort (above)
    }
  }
}

/** Runs a queued waiter; a waiter that gives up (or fails) withdraws its ticket. */
export async function waitInQueue<Held extends object>(
  lock: QueuedLock<Held>,
  token: string,
  askedAt: number,
  signal: AbortSignal | undefined,
): Promise<Held> {
  const waiter = new QueuedWaiter(lock, token, askedAt);
  try {
    return await waiter.run(signal);
  } catch (err) {
    await waiter.withdraw();
    throw err;
  }
}

/** An update expression with these placeholders added to its REMOVE clause (DynamoDB allows one). */
export function withRemovals(update: string, removals: string[]): string {
  if (removals.length === 0) return update;
  const list = removals.join(', ');
  return /\bREMOVE\b/.test(update) ? update.replace(/\bREMOVE\b/, `REMOVE ${list},`) : `${update} REMOVE ${list}`;
}

type GrantDecision = Extract<QueueDecision, { kind: 'grant' }>;
type WaitDecision = Extract<QueueDecision, { kind: 'wait' }>;

/** The head of the queue polls this often at first while one holder holds, backing off to the max. */
const HEAD_POLL_MIN_MS = 4;
const HEAD_POLL_MAX_MS = 250;
/** A waiter behind others looks again at least this often. */
const NON_HEAD_MAX_MS = 500;
