/**
 * Wake-ups inside one process between a lock's holders and its queued waiters
 * (lib/sync/localWakeups.ts): a release wakes the waiter with the oldest ticket and no other; a
 * wake that finds that waiter looking is kept for its next sleep; `covers` only says "this process
 * will wake you" when the holder and every ticket ahead are of this process.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MeshAbortError } from '../../lib/errors.ts';
import { LocalWakeups } from '../../lib/sync/localWakeups.ts';
import { ticketAttribute } from '../../lib/sync/mutexQueue.ts';

const lock = () => new LocalWakeups(`table\u0000lock#${randomUUID()}\u0000lock`);
const ticket = (askedAt: number, token: string) => ticketAttribute(askedAt, token);

/** Sleeps `ms` on `wakeups` as `ticket`; resolves with whether a wake ended it (not the timer). */
async function sleeps(wakeups: LocalWakeups, waiter: string, ms: number, signal?: AbortSignal): Promise<'woken' | 'timed out'> {
  const startedAt = performance.now();
  await wakeups.sleep(waiter, ms, signal);
  return performance.now() - startedAt < ms - 5 ? 'woken' : 'timed out';
}

describe('LocalWakeups', () => {
  it('a release wakes the queued waiter with the oldest ticket, and only it', async () => {
    const wakeups = lock();
    const [older, newer] = [ticket(1_000, 'a/1'), ticket(2_000, 'b/2')];
    wakeups.holding('holder/1');
    wakeups.queued(newer);
    wakeups.queued(older);
    const sleeping = [sleeps(wakeups, newer, 300), sleeps(wakeups, older, 300)];
    await new Promise((resolve) => setTimeout(resolve, 20));
    wakeups.released('holder/1');
    expect(await Promise.all(sleeping)).toEqual(['timed out', 'woken']);
  });

  it('a wake that finds its waiter looking (not asleep) is kept for its next sleep, once', async () => {
    const wakeups = lock();
    const head = ticket(1_000, 'a/1');
    wakeups.queued(head);
    wakeups.holding('holder/1');
    wakeups.released('holder/1'); // the head is in the middle of a look
    expect(await sleeps(wakeups, head, 200)).toBe('woken');
    expect(await sleeps(wakeups, head, 100)).toBe('timed out');
  });

  it('a granted waiter leaves without waking anyone; one that gives up wakes the next', async () => {
    const granted = lock();
    const [first, second] = [ticket(1, 'a/1'), ticket(2, 'b/2')];
    granted.queued(first);
    granted.queued(second);
    const secondSleeps = sleeps(granted, second, 200);
    setTimeout(() => granted.left(first, false), 20); // its release will wake the next
    expect(await secondSleeps).toBe('timed out');

    const gaveUp = lock();
    gaveUp.queued(first);
    gaveUp.queued(second);
    const nextSleeps = sleeps(gaveUp, second, 300);
    setTimeout(() => gaveUp.left(first, true), 20); // the second may be the head now
    expect(await nextSleeps).toBe('woken');
  });

  it('covers a waiter only when its holder and every ticket ahead are of this process', () => {
    const wakeups = lock();
    const local = ticket(1, 'a/1');
    wakeups.queued(local);
    wakeups.holding('holder/1');
    expect(wakeups.covers('holder/1', [local])).toBe(true);
    expect(wakeups.covers('holder/1', [])).toBe(true);
    expect(wakeups.covers(undefined, [local])).toBe(true); // free: the waiter ahead will be granted here
    expect(wakeups.covers('elsewhere/1', [local])).toBe(false);
    expect(wakeups.covers('holder/1', [local, ticket(2, 'elsewhere/2')])).toBe(false);
    expect(wakeups.covers(undefined, [])).toBe(false); // free and nobody ahead: look now
    wakeups.released('holder/1');
    expect(wakeups.covers('holder/1', [local])).toBe(false);
    expect(lock().covers('holder/1', [])).toBe(false);
  });

  it('says whether a waiter of this process queues behind a ticket', () => {
    const wakeups = lock();
    wakeups.queued(ticket(2, 'b/2'));
    expect(wakeups.queuedBehind(ticket(1, 'a/1'))).toBe(true);
    expect(wakeups.queuedBehind(ticket(2, 'b/2'))).toBe(false);
    expect(wakeups.queuedBehind(ticket(3, 'c/3'))).toBe(false);
  });

  it('a sleep ends with MeshAbortError when its signal aborts, and the next wake goes to the waiter that still sleeps', async () => {
    const wakeups = lock();
    const [first, second] = [ticket(1, 'a/1'), ticket(2, 'b/2')];
    wakeups.queued(first);
    wakeups.queued(second);
    await expect(wakeups.sleep(first, 1_000, AbortSignal.timeout(20))).rejects.toBeInstanceOf(MeshAbortError);
    await expect(wakeups.sleep(first, 1_000, AbortSignal.abort())).rejects.toBeInstanceOf(MeshAbortError);
    wakeups.left(first, true);
    expect(await sleeps(wakeups, second, 300)).toBe('woken');
  });
});
