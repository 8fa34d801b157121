/**
 * How fast grants of a lock go by, as a waiter of starvation mode (mutexWaiter.ts) sees them: from
 * a counter on the item (a Mutex's fence), or the tickets it saw leave ahead of it. A queued
 * waiter sleeps about as long as the grants ahead of it take.
 */
/** Milliseconds per step of the counter, smoothed. */
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
