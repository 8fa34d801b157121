/**
 * Wake-ups between the holders and the queued waiters of one lock inside this process, for
 * starvation mode ('fifo'). A DynamoDB item wakes no one: across processes, the head of the queue
 * learns that the lock is free by looking (mutexWaiter.ts). Inside one process the releaser knows
 * the moment its release is applied, so:
 *   - a grant notes its token here; its release, once applied (or its loss), wakes the queued
 *     waiter of this process with the oldest ticket (if that waiter is not asleep just then, it is
 *     in the middle of a look, and skips its next sleep instead);
 *   - a waiter that gives its ticket up wakes that waiter too (it may be the head now), and so
 *     does a grant of a shared or weighted lock (the next waiter may fit beside it);
 *   - a release of a shared or weighted lock (RWMutex, Semaphore) wakes it as well (`freed`);
 *   - a queued waiter whose holder, and every live ticket ahead of it, are of this process need
 *     not look until then: it sleeps until woken, or until its ticket is due for renewal, or the
 *     holder's lease could be taken over (`covers`).
 * A wake is only a hint. The woken waiter looks at the item as before, and its grant is the same
 * conditional write, so a wake too many costs one look, and a missed one costs the sleep's bound,
 * never safety.
 *
 * Locks are told apart by table and key; tokens and tickets are unique per `lock()` call, so two
 * clients of different endpoints in one process cannot be mistaken for one another.
 */
import { abortError, throwIfAborted } from '../internal/time.ts';
import type { Key } from '../table/layout.ts';

interface Sleeper {
  wake(): void;
}

/** What this process knows of one lock. */
interface LocalLock {
  holders: Set<string>;
  tickets: Set<string>;
  /** Sleeping queued waiters by ticket (the attributes sort oldest asker first). */
  sleepers: Map<string, Sleeper>;
  /** The ticket a wake was for whose waiter was awake (looking): it skips its next sleep. */
  pending: string | undefined;
}

const locks = new Map<string, LocalLock>();

function entry(key: string): LocalLock {
  let lock = locks.get(key);
  if (!lock) locks.set(key, (lock = { holders: new Set(), tickets: new Set(), sleepers: new Map(), pending: undefined }));
  return lock;
}

/** Forgets a lock nobody of this process holds, queues for or sleeps on. */
function tidy(key: string, lock: LocalLock): void {
  if (!lock.holders.size && !lock.tickets.size && !lock.sleepers.size) locks.delete(key);
}

/** Wakes the waiter of this process with the oldest ticket, now or (if it is looking) at its next sleep. */
function wakeHead(lock: LocalLock): void {
  let oldest: string | undefined;
  for (const ticket of lock.tickets) if (oldest === undefined || ticket < oldest) oldest = ticket;
  if (oldest === undefined) return;
  const sleeper = lock.sleepers.get(oldest);
  if (sleeper) sleeper.wake();
  else lock.pending = oldest;
}

/** The local side of one lock (`key`: its table and item key). */
export class LocalWakeups {
  constructor(private readonly key: string) {}

  /** The local side of the lock on item `key` of table `tableName`. */
  static forItem(tableName: string, key: Key): LocalWakeups {
    return new LocalWakeups(`${tableName}\u0000${key.pk.S}\u0000${key.sk.S}`);
  }

  /** A grant of this process holds the lock under `token`. */
  holding(token: string): void {
    entry(this.key).holders.add(token);
  }

  /** The grant under `token` is released (the write applied) or lost: wakes the oldest sleeper. */
  released(token: string): void {
    const lock = locks.get(this.key);
    if (!lock) return;
    lock.holders.delete(token);
    wakeHead(lock);
    tidy(this.key, lock);
  }

  /** A waiter of this process holds `ticket` on the item. */
  queued(ticket: string): void {
    entry(this.key).tickets.add(ticket);
  }

  /**
   * The waiter holding `ticket` has left the queue: `wakeNext` when the next waiter may go now
   * (this one gave its place up, or was granted a share that may leave room), not when it was
   * granted an exclusive lock (its release will wake the next).
   */
  left(ticket: string, wakeNext: boolean): void {
    const lock = locks.get(this.key);
    if (!lock) return;
    lock.tickets.delete(ticket);
    if (lock.pending === ticket) lock.pending = undefined;
    if (wakeNext) wakeHead(lock);
    tidy(this.key, lock);
  }

  /** Room was made without a holder token to forget (weight or a shared lock released): wakes the oldest sleeper. */
  freed(): void {
    const lock = locks.get(this.key);
    if (lock) wakeHead(lock);
  }

  /**
   * Whether this process will wake the waiter whose holder is `holder` (undefined: none) and
   * whose live tickets ahead are `ahead`: each is of this process, and at least one is there.
   */
  covers(holder: string | undefined, ahead: readonly string[]): boolean {
    const lock = locks.get(this.key);
    if (!lock || (holder === undefined && ahead.length === 0)) return false;
    if (holder !== undefined && !lock.holders.has(holder)) return false;
    return ahead.every((ticket) => lock.tickets.has(ticket));
  }

  /** Whether a waiter of this process queues behind `ticket` (the item we saw may predate it). */
  queuedBehind(ticket: string): boolean {
    const lock = locks.get(this.key);
    if (!lock) return false;
    for (const other of lock.tickets) if (other > ticket) return true;
    return false;
  }

  /**
   * Sleeps up to `ms`, or until a release of this process wakes the waiter holding `ticket`.
   * Returns at once if a wake came for it while it was looking.
   * @throws MeshAbortError when `signal` aborts
   */
  async sleep(ticket: string, ms: number, signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    const lock = entry(this.key);
    if (lock.pending === ticket) {
      lock.pending = undefined;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        if (lock.sleepers.get(ticket) === sleeper) lock.sleepers.delete(ticket);
        tidy(this.key, lock);
      };
      const sleeper: Sleeper = {
        wake: () => {
          done();
          resolve();
        },
      };
      const aborted = () => {
        done();
        reject(abortError(signal!));
      };
      const timer = setTimeout(sleeper.wake, Math.max(0, ms));
      signal?.addEventListener('abort', aborted, { once: true });
      lock.sleepers.set(ticket, sleeper);
    });
  }
}
