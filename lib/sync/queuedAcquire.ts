/**
 * Starvation mode ('fifo') for the primitives that acquire through acquireLoop.ts (RWMutex,
 * Semaphore): the same steps as their 'polling' acquire, with the gate added to a newcomer's
 * writes, and, for a waiting acquire, the Mutex's queued waiter (mutexWaiter.ts) driving them. The
 * queue decides who tries; the steps' own conditional writes still decide who holds.
 */
import { type Item, n } from '../table/layout.ts';
import { type AcquireContext, type AcquireSteps, acquireLoop } from './acquireLoop.ts';
import type { Update } from './holderItem.ts';
import type { Clock } from './holders.ts';
import { expiredBefore } from './lease.ts';
import { gateLive, othersQueue, QUEUE_UNTIL } from './mutexQueue.ts';
import { GATE_OPEN, type QueuedLock, type QueueSettings, waitInQueue } from './mutexWaiter.ts';

export interface QueuedAcquireContext extends AcquireContext {
  queue: QueueSettings;
  /** Names the queue's writes, e.g. `semaphore pool`. */
  label: string;
  /** A shared acquirer (an RWMutex reader): it need not wait for shared tickets ahead of it. */
  shared?: boolean;
  /** An exclusive acquirer (an RWMutex writer): its grant leaves nothing for the next waiter. */
  exclusive?: boolean;
  /** Whether the primitive's last queued grant saw others queue (its next waiter queues at once). */
  queueSeen: { value: boolean };
}

/**
 * An acquire in the primitive's mode: 'polling' is acquireLoop itself; 'fifo' holds newcomers
 * back while others queue and, when it may wait, queues with a ticket.
 * @throws MeshAbortError when `signal` aborts first (a ticket is withdrawn, best effort)
 */
export async function queuedAcquire<State, Held extends object>(
  context: QueuedAcquireContext,
  steps: AcquireSteps<State, Held>,
): Promise<Held | undefined> {
  if (context.queue.fairness === 'polling') return acquireLoop(context, steps);
  if (!context.wait) return acquireLoop(context, gatedSteps(steps));
  return waitInQueue(queuedLock(context, steps), context.token, context.lease.now(), context.signal);
}

/** A newcomer's steps: its writes also need the gate open, and it waits while the gate is live. */
function gatedSteps<State, Held>(steps: AcquireSteps<State, Held>, refused?: (item: Item | undefined) => void): AcquireSteps<State, Held> {
  let seen: Item | undefined;
  const gated = (update: Update, clock: Clock): Update => ({
    ...update,
    condition: `(${update.condition}) AND ${GATE_OPEN}`,
    names: { ...update.names, '#q': QUEUE_UNTIL },
    values: { ...update.values, ':e': n(clock.expiredBefore) },
  });
  return {
    ...steps,
    fastPath: (clock, until) => gated(steps.fastPath(clock, until), clock),
    readState: (item) => {
      seen = item;
      refused?.(item);
      return steps.readState(item);
    },
    decide: (state, clock, until) => (gateLive(seen, clock.expiredBefore) ? { kind: 'wait', ms: 0 } : steps.decide(state, clock, until)),
    fullWrite: (state, clock, until) => gated(steps.fullWrite(state, clock, until), clock),
  };
}

/** The queued waiter's view of one acquire's steps. */
function queuedLock<State, Held extends object>(context: QueuedAcquireContext, steps: AcquireSteps<State, Held>): QueuedLock<Held> {
  const { lease, queueSeen } = context;
  const clockOf = (expired: number): Clock => ({ token: context.token, now: lease.now(), expiredBefore: expired });
  // Decided as at a renewal due now: a queued acquirer records no intent of its own.
  const decision = (item: Item | undefined, clock: Clock) => steps.decide(steps.readState(item), clock, clock.now + lease.heartbeatMs);
  return {
    label: context.label,
    get queueSeen() {
      return queueSeen.value;
    },
    pace: undefined,
    shared: context.shared ?? false,
    wakeups: context.item.wakeups,
    exclusive: context.exclusive ?? false,
    settings: { lease, backoff: context.backoff, queue: context.queue },
    attempt: (_token, signal, refused) => acquireLoop({ ...context, wait: false, signal }, gatedSteps(steps, refused)),
    lockState: (item, view) => {
      const decided = decision(item, clockOf(view.expiredBefore));
      if (decided.kind === 'held') return { held: decided.until, holderUntil: undefined };
      // Kept out (a live holder, no room, another's intent) for `ms` after expiredBefore.
      if (decided.kind === 'wait' || decided.kind === 'intent') return { held: undefined, holderUntil: view.expiredBefore + decided.ms };
      return { held: undefined, holderUntil: undefined };
    },
    grantUpdate: (item, _token, until, expired) => {
      const clock = clockOf(expired);
      // The full write (it rewrites the holders) only on a view where it was decided, at that
      // version; otherwise the fast path, whose own condition keeps exclusion or capacity.
      const full = decision(item, clock).kind === 'write';
      return { ...(full ? steps.fullWrite(steps.readState(item), clock, until) : steps.fastPath(clock, until)), returnNew: true };
    },
    held: (token, until, item) => {
      queueSeen.value = othersQueue(item, token, expiredBefore(lease));
      return steps.grant(until, item);
    },
    write: (update, signal) => context.item.attempt(update, signal),
  };
}
