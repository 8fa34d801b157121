/**
 * One `lock()` of a Mutex in starvation mode ('fifo'): the waiter that polls, queues with a ticket
 * on the lock item, keeps its ticket alive and takes the lock in ticket order (the decisions are
 * mutexQueue.ts's); and the grant expressions Mutex.ts shares with it.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { LockHolder } from '../errors.ts';
import { type BackoffOptions, backoffMs, sleep, throwIfAborted } from '../internal/time.ts';
import { FORMAT_VERSION, type Item, n, readNumber, readString, s } from '../table/layout.ts';
import type { Attempt, Update } from './holderItem.ts';
import { expiredBefore, leaseEnd, type LeaseSettings, msUntilTakeover } from './lease.ts';
import { decide, gateLive, QUEUE_UNTIL, type QueueDecision, ticketAttribute, ticketsOf, type WaiterView } from './mutexQueue.ts';

/** What a waiter needs of its Mutex (Mutex.ts implements it; no import back, so no cycle). */
export interface WaiterMutex<Held extends object> {
  readonly name: string;
  readonly queueSeen: boolean;
  readonly pace: GrantPace;
  readonly settings: { lease: LeaseSettings; backoff: BackoffOptions; starvationMs: number; ticketLeaseMs: number };
  acquire(token: string, signal: AbortSignal | undefined, refused?: (item: Item | undefined) => void): Promise<Held | LockHolder>;
  write(update: Update, signal: AbortSignal | undefined): Promise<Attempt>;
  held(token: string, until: number, item: Item | undefined): Held;
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
 * One `lock()` call in 'fifo' mode: poll until `starvationMs` has passed (or a queue is seen), then
 * queue with a ticket and take the lock when the ticket is the oldest live one.
 */
export class QueuedWaiter<Held extends object> {
  private ticket: string | undefined;
  private ticketRenewedAt = 0;
  private seen: Item | undefined;
  /** The head's poll interval while one holder (fence) holds: grows, and starts again with a new holder. */
  private headPollMs = HEAD_POLL_MIN_MS;
  private headPollFence: number | undefined;

  constructor(
    private readonly mutex: WaiterMutex<Held>,
    private readonly token: string,
    private readonly askedAt: number,
  ) {}

  private get lease() {
    return this.mutex.settings.lease;
  }

  private view(): WaiterView {
    return { token: this.token, ticket: this.ticket, expiredBefore: expiredBefore(this.lease, this.lease.now()) };
  }

  private observe(item: Item | undefined): void {
    this.seen = item;
    this.mutex.pace.observe(readNumber(item, 'fence'), this.lease.now());
  }

  async run(signal: AbortSignal | undefined): Promise<Held> {
    const { backoff, starvationMs, ticketLeaseMs } = this.mutex.settings;
    // This Mutex's last grant saw others queue: go straight to the back of the queue (no fast path).
    if (this.mutex.queueSeen) await this.register(signal);
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(signal);
      if (this.ticket === undefined) {
        // Polling phase: the fast path, as a newcomer.
        const outcome = await this.mutex.acquire(this.token, signal, (item) => this.observe(item));
        if (!isHolder(outcome)) return outcome;
        const waited = this.lease.now() - this.askedAt;
        if (waited >= starvationMs || gateLive(this.seen, this.view().expiredBefore)) {
          await this.register(signal);
          continue;
        }
        await sleep(Math.min(msUntilTakeover(this.lease, outcome.leaseUntil), backoffMs(attempt, backoff)) + 1, signal);
        continue;
      }
      // Queued. A ticket the item no longer shows (it expired, and a grant removed it): take it again.
      if (this.seen?.[this.ticket] === undefined) {
        await this.register(signal);
        continue;
      }
      const decision = decide(this.seen, this.view());
      if (decision.kind === 'held') return this.mutex.held(this.token, readNumber(this.seen, 'leaseUntil') ?? 0, this.seen);
      if (decision.kind === 'grant') {
        const granted = await this.grant(decision, signal);
        if (granted) return granted;
        continue; // refused: decide again on what the refusal returned
      }
      await sleep(this.waitMs(decision.position, decision.holderUntil) + 1, signal);
      if (this.lease.now() - this.ticketRenewedAt >= ticketLeaseMs / 2) {
        await this.register(signal); // renews the ticket and shows the item
      } else {
        // Poll with the grant itself, on condition that the waiter we saw just ahead of us no longer
        // queues (tickets leave in order, so those before it are gone too; a short condition is a
        // cheap one): one call that either takes the lock or shows the item (our place, the holder).
        // If nobody queued behind us, the grant also closes the gate (if it is still the one seen).
        const gateSeen = readNumber(this.seen, QUEUE_UNTIL);
        const behind = ticketsOf(this.seen).some((t) => t.attribute > this.ticket! && t.until >= this.view().expiredBefore);
        const granted = await this.grant(
          { kind: 'grant', closeGate: !behind && gateSeen !== undefined, gateSeen, dead: [] },
          signal,
          decision.ahead.slice(-1),
        );
        if (granted) return granted;
      }
    }
  }

  /** How long a queued waiter sleeps before its next look. */
  private waitMs(position: number, holderUntil: number | undefined): number {
    const cap = this.mutex.settings.ticketLeaseMs / 2;
    const perGrant = this.mutex.pace.msPerGrant ?? HEAD_POLL_MIN_MS * 2;
    if (position === 0) {
      const takeover = holderUntil === undefined ? 0 : msUntilTakeover(this.lease, holderUntil);
      const fence = readNumber(this.seen, 'fence');
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
    const until = now + this.mutex.settings.ticketLeaseMs;
    this.ticket ??= ticketAttribute(this.askedAt, this.token);
    const { item } = await this.mutex.write(
      {
        operation: `mutex ${this.mutex.name}: queue`,
        update: 'SET #w = :w, #q = :w',
        names: { '#w': this.ticket },
        values: { ':w': n(until) },
        returnNew: true,
      },
      signal,
    );
    this.ticketRenewedAt = now;
    this.observe(item);
  }

  /**
   * The grant of a queued waiter: the lock's own condition, plus (when no other live ticket is
   * left) the removal of the gate if it is still the one seen; removes our ticket and dead ones.
   * `ahead`: a poll on a view that may be stale: the tickets we saw ahead of ours must be gone.
   */
  private async grant(decision: GrantDecision, signal: AbortSignal | undefined, ahead?: string[]): Promise<Held | undefined> {
    const now = this.lease.now();
    const until = leaseEnd(this.lease, now);
    const remove = [...new Set([this.ticket!, ...decision.dead])];
    const names: Record<string, string> = {};
    remove.forEach((attribute, i) => (names[`#r${i}`] = attribute));
    (ahead ?? []).forEach((attribute, i) => (names[`#a${i}`] = attribute));
    const closeGate = decision.closeGate && decision.gateSeen !== undefined;
    const removals = [...remove.map((_, i) => `#r${i}`), ...(closeGate ? ['#q'] : [])].join(', ');
    const conditions = [`(${FREE})`, ...(closeGate ? ['#q = :g'] : []), ...(ahead ?? []).map((_, i) => `attribute_not_exists(#a${i})`)];
    const { applied, item } = await this.mutex.write(
      {
        operation: `mutex ${this.mutex.name}: lock`,
        update: `${GRANT} REMOVE ${removals}`,
        condition: conditions.length === 1 ? FREE : conditions.join(' AND '),
        names,
        values: {
          ...grantValues(this.token, until, expiredBefore(this.lease, now)),
          ...(closeGate ? { ':g': n(decision.gateSeen!) } : {}),
        },
        returnNew: true,
      },
      signal,
    );
    if (applied) {
      this.ticket = undefined; // removed by the grant
      return this.mutex.held(this.token, until, item);
    }
    this.observe(item);
    if (readString(item, 'owner') === this.token) {
      this.ticket = undefined;
      return this.mutex.held(this.token, readNumber(item, 'leaseUntil') ?? until, item);
    }
    return undefined;
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
      const { item } = await this.mutex.write(
        { operation: `mutex ${this.mutex.name}: leave queue`, update: 'REMOVE #w', names: { '#w': ticket }, returnNew: true },
        undefined,
      );
      const gate = readNumber(item, QUEUE_UNTIL);
      const expired = this.view().expiredBefore;
      if (gate === undefined || ticketsOf(item).some((t) => t.until >= expired)) return;
      await this.mutex.write(
        { operation: `mutex ${this.mutex.name}: close queue`, update: 'REMOVE #q', condition: '#q = :g', values: { ':g': n(gate) } },
        undefined,
      );
    } catch {
      // best effort (above)
    }
  }
}

/** How fast grants go by (ms per fence step), smoothed over what a Mutex has seen of the fence. */
export class GrantPace {
  private last: { fence: number; at: number } | undefined;
  msPerGrant: number | undefined;

  observe(fence: number | undefined, at: number): void {
    if (fence === undefined) return;
    const last = this.last;
    if (!last || fence < last.fence) {
      this.last = { fence, at };
      return;
    }
    if (fence === last.fence) return;
    const sample = (at - last.at) / (fence - last.fence);
    // Quick to believe a faster pace, slow to believe a slower one: our own waits lengthen the gaps
    // between grants, and an estimate that trusted them would slow the queue down further.
    const weight = this.msPerGrant === undefined ? 1 : sample < this.msPerGrant ? 0.5 : 0.15;
    this.msPerGrant = this.msPerGrant === undefined ? sample : (1 - weight) * this.msPerGrant + weight * sample;
    this.last = { fence, at };
  }
}

type GrantDecision = Extract<QueueDecision, { kind: 'grant' }>;

/** The head of the queue polls this often at first while one holder holds, backing off to the max. */
const HEAD_POLL_MIN_MS = 4;
const HEAD_POLL_MAX_MS = 250;
/** A waiter behind others looks again at least this often. */
const NON_HEAD_MAX_MS = 500;

/** A refusal's holder, as opposed to a grant. */
function isHolder(outcome: object): outcome is LockHolder {
  return !('unlock' in outcome);
}
