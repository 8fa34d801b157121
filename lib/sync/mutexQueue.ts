/**
 * Starvation mode (Go's `sync.Mutex` switches to FIFO hand-off once a waiter has waited over
 * 1 ms), for the Mutex, the RWMutex and the Semaphore (`fairness: 'fifo'`): the waiter queue kept
 * on the primitive's item, and the pure decisions a waiter takes on the item a write returned. No
 * I/O here, so a model test can drive every interleaving.
 *
 * On the primitive's item (docs/item-format.md):
 *   `wait#<askedAt, 15 digits>#<token>` (N)  a waiter's ticket: the end of its ticket lease
 *                                            (an RWMutex reader's token ends in `#r`)
 *   `queueUntil` (N)                         the gate: while it has not expired, newcomers queue
 *
 * Tickets order by the time their waiter first asked (the key sorts so). The queue only decides
 * who may *try*: every grant is still the primitive's own conditional write (a Mutex's on
 * `owner`/`leaseUntil`, an RWMutex's on its writer and readers, a Semaphore's on the room left),
 * so two holders at once, a shrinking fence or an over-admitted semaphore are impossible whatever
 * the queue says, and a wrong or stale queue costs fairness, never safety. A ticket whose lease
 * (plus the clock-skew bound) ended is skipped and removed by the next grant, so a dead waiter
 * delays the queue by one ticket lease.
 */
import { type Item, readNumber, readString } from '../table/layout.ts';

export const TICKET_PREFIX = 'wait#';
export const QUEUE_UNTIL = 'queueUntil';

export interface Ticket {
  /** The ticket's attribute name on the lock item. */
  attribute: string;
  askedAt: number;
  token: string;
  until: number;
}

/**
 * A shared waiter's ticket token (an RWMutex reader's): `<token>#r`. Tokens end with a UUID, so the
 * mark cannot be mistaken. Shared waiters queued one after another are granted together.
 */
export function sharedTicketToken(token: string): string {
  return `${token}#r`;
}

/** Whether a ticket is a shared waiter's (an RWMutex reader's). */
export function isShared(ticket: Ticket): boolean {
  return ticket.token.endsWith('#r');
}

/** The ticket attribute of a waiter that first asked at `askedAt` (epoch ms) with `token`. */
export function ticketAttribute(askedAt: number, token: string): string {
  return `${TICKET_PREFIX}${String(Math.max(0, Math.floor(askedAt))).padStart(15, '0')}#${token}`;
}

/** Every ticket on the item, oldest asker first. */
export function ticketsOf(item: Item | undefined): Ticket[] {
  const tickets: Ticket[] = [];
  for (const [attribute, value] of Object.entries(item ?? {})) {
    if (!attribute.startsWith(TICKET_PREFIX) || value.N === undefined) continue;
    const rest = attribute.slice(TICKET_PREFIX.length);
    const hash = rest.indexOf('#');
    if (hash < 0) continue;
    tickets.push({ attribute, askedAt: Number(rest.slice(0, hash)), token: rest.slice(hash + 1), until: Number(value.N) });
  }
  return tickets.sort((a, b) => (a.attribute < b.attribute ? -1 : a.attribute > b.attribute ? 1 : 0));
}

/** What a waiter knows when it decides: its token, its ticket (if it queued) and its clock. */
export interface WaiterView {
  token: string;
  ticket: string | undefined;
  /** Leases and tickets that ended before this instant (own clock minus the skew bound) are dead. */
  expiredBefore: number;
}

export type QueueDecision =
  /** We hold it already (a grant applied whose answer was lost): the item says so, with our lease end. */
  | { kind: 'held'; until: number }
  /**
   * Try the grant now. `closeGate`: no other live ticket is left, so the grant also removes the
   * gate, on condition it is still the value seen (`gateSeen`: undefined = no gate to remove).
   * `dead`: expired tickets to remove in the same write.
   */
  | { kind: 'grant'; closeGate: boolean; gateSeen: number | undefined; dead: string[] }
  /**
   * Someone holds it (or another waiter is ahead): wait. `position`: live tickets ahead of ours;
   * `holderUntil`: the end of the lease that keeps us out, if a holder does; `holder`: its token,
   * where the item names one (LockState).
   */
  | { kind: 'wait'; position: number; ahead: string[]; holderUntil: number | undefined; holder?: string };

/**
 * What the item says of the lock itself for one waiter, apart from the queue: `held`, our lease
 * end if the item records our grant; `holderUntil`, the end of a live lease that keeps us out
 * (another holder, or the earliest of those whose weight leaves no room). Each primitive says it
 * its own way (Mutex: `owner`; Semaphore: `holders`); the queue's rules are the same for all.
 */
export interface LockState {
  held: number | undefined;
  holderUntil: number | undefined;
  /** The token of the one holder that keeps us out, where the item names one (a Mutex's `owner`). */
  holder?: string;
}

/** A Mutex item's LockState: `owner` is ours, or another's live lease. */
export function mutexLockState(item: Item | undefined, view: WaiterView): LockState {
  const owner = readString(item, 'owner');
  const until = readNumber(item, 'leaseUntil') ?? 0;
  if (owner === undefined) return { held: undefined, holderUntil: undefined };
  if (owner === view.token) return { held: until, holderUntil: undefined };
  return until < view.expiredBefore ? { held: undefined, holderUntil: undefined } : { held: undefined, holderUntil: until, holder: owner };
}

/** Whether live tickets other than `token`'s queue on the item (a grant that sees them queues its next waiter at once). */
export function othersQueue(item: Item | undefined, token: string, expiredBefore: number): boolean {
  return ticketsOf(item).some((ticket) => ticket.token !== token && ticket.until >= expiredBefore);
}

/**
 * The decision of a waiter (queued or not) on the item it last saw. A waiter without a ticket
 * may only grant while no live ticket exists (the gate keeps it out server-side as well); a
 * queued waiter, only when its ticket is the oldest live one (`shared`: an RWMutex reader's, when
 * only shared tickets are ahead of it). `lock`: what the item says of the lock itself (a Mutex's
 * by default).
 */
export function decide(
  item: Item | undefined,
  view: WaiterView,
  lock: LockState = mutexLockState(item, view),
  shared = false,
): QueueDecision {
  if (lock.held !== undefined) return { kind: 'held', until: lock.held };
  const tickets = ticketsOf(item);
  // Every waiter judges every ticket alike, its own too (a waiter that let its own ticket expire
  // has lost its place until it renews it), so that waiters agree on the order.
  const live = tickets.filter((t) => t.until >= view.expiredBefore);
  const dead = tickets.filter((t) => !live.includes(t) && t.attribute !== view.ticket).map((t) => t.attribute);
  const mine = view.ticket === undefined ? -1 : live.findIndex((t) => t.attribute === view.ticket);
  // Without a ticket (or with one the item no longer shows) we stand behind every live ticket.
  const before = mine >= 0 ? live.slice(0, mine) : live;
  const ahead = mine >= 0 && shared ? before.filter((t) => !isShared(t)) : before;
  if (lock.holderUntil !== undefined || ahead.length > 0)
    return {
      kind: 'wait',
      position: ahead.length,
      ahead: ahead.map((t) => t.attribute),
      holderUntil: lock.holderUntil,
      ...(lock.holder === undefined ? {} : { holder: lock.holder }),
    };
  const others = live.filter((t) => t.attribute !== view.ticket).length;
  const gate = readNumber(item, QUEUE_UNTIL);
  return { kind: 'grant', closeGate: others === 0 && gate !== undefined, gateSeen: gate, dead };
}

/** Whether the gate keeps waiters without a ticket out (for a waiter judging at `expiredBefore`). */
export function gateLive(item: Item | undefined, expiredBefore: number): boolean {
  const gate = readNumber(item, QUEUE_UNTIL);
  return gate !== undefined && gate >= expiredBefore;
}
