/**
 * The background half of a held lease, shared by Mutex, RWMutex (readers and writers), Semaphore
 * (permit holders) and Once (a running function): renew the lease every `heartbeatMs` with
 * unref'd timers, never past the holder's remaining time, and abort `signal` as soon as the lease
 * is known to be lost. A subclass only says how to renew (one conditional UpdateItem) and which
 * error reports the loss.
 *
 * Whatever the network does, `signal` aborts by the lease's end on this process's clock: a
 * watchdog timer fires then unless a renewal moved the end, and each renewal carries a deadline at
 * the current end (a request stuck on a black-holed connection is abandoned, not awaited for the
 * SDK's minutes). A renewal that lands on the server after its deadline only keeps others waiting
 * a little longer; it never lets this holder believe it still holds.
 */
import type { LeaseSettings } from './lease.ts';
import { leaseEnd } from './lease.ts';

/**
 * A lease held by this process, renewed in the background until it ends: released by its owner
 * (`end()`) or lost (a renewal refused, or not renewed in time).
 * @internal Not exported from the package: subclass it inside lib/sync only.
 */
export abstract class LeaseKeeper {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  /** Fires at `leaseUntil`: the lease is lost unless a renewal moved it first. */
  private watchdog: NodeJS.Timeout | undefined;
  private isEnded = false;
  /** When the lease ends unless renewed (epoch ms, this process's clock). */
  leaseUntil: number;

  protected constructor(
    protected readonly settings: LeaseSettings,
    leaseUntil: number,
  ) {
    this.leaseUntil = leaseUntil;
  }

  /** Aborts with `lostError(...)` once the lease is lost, or with the release reason once released. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Whether the lease has ended (released or lost): no more heartbeats. */
  get ended(): boolean {
    return this.isEnded;
  }

  /** Starts the heartbeats and the watchdog. Call it last in the subclass constructor. */
  protected start(): void {
    this.armWatchdog();
    this.schedule();
  }

  /**
   * One renewal to `until`, abandoned when `signal` aborts (its deadline): true if applied, false
   * if refused because the lease is gone (a conditional check failed). Any other error is
   * transient: the next beat tries again, if the lease still runs.
   */
  protected abstract renew(until: number, signal: AbortSignal): Promise<boolean>;

  /** The error `signal` aborts with when the lease is lost. */
  protected abstract lostError(reason: string, cause?: unknown): Error;

  /** Called exactly once, when the lease ends (released or lost): e.g. forget it in the owner. */
  protected abstract onEnd(): void;

  /** Whether the lease is still valid by this process's clock (a release may then trust it). */
  protected valid(now = this.settings.now()): boolean {
    return !this.isEnded && now < this.leaseUntil;
  }

  /**
   * Stops the heartbeats and marks the lease ended (the caller releases it). Returns false if it
   * had ended already.
   */
  protected end(): boolean {
    if (this.isEnded) return false;
    this.isEnded = true;
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    this.onEnd();
    return true;
  }

  /** Aborts `signal` with `reason` (no-op if aborted already). */
  protected abortSignal(reason: Error): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** Ends the lease as lost: `signal` aborts with `lostError(reason)`. */
  protected lose(reason: string, cause?: unknown): void {
    if (!this.end()) return;
    this.abortSignal(this.lostError(reason, cause));
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(
      () => this.lose('the lease ended before a renewal succeeded'),
      Math.max(0, this.leaseUntil - this.settings.now()),
    );
    this.watchdog.unref();
  }

  private schedule(): void {
    // The next beat comes before the lease ends; if it cannot renew, the lease is lost on time.
    const delay = Math.min(this.settings.heartbeatMs, Math.max(0, this.leaseUntil - this.settings.now()));
    // Unref'd: a heartbeat never keeps a process (or a Lambda invocation) alive on its own.
    this.timer = setTimeout(() => void this.heartbeat(), delay);
    this.timer.unref();
  }

  private async heartbeat(): Promise<void> {
    if (this.isEnded) return;
    const now = this.settings.now();
    if (now >= this.leaseUntil) return this.lose('the lease ended before a heartbeat succeeded');
    let until: number;
    try {
      until = leaseEnd(this.settings, now);
    } catch {
      until = now; // no time left in this invocation
    }
    if (until <= this.leaseUntil) {
      // The invocation is ending: the lease cannot grow. Hold on until it runs out, then let go.
      this.timer = setTimeout(() => this.lose('the invocation ran out of time to renew the lease'), this.leaseUntil - now);
      this.timer.unref();
      return;
    }
    try {
      const renewed = await this.renew(until, AbortSignal.timeout(Math.max(1, this.leaseUntil - now)));
      if (!renewed) return this.lose('it was taken over after its lease expired');
      if (!this.isEnded && this.settings.now() < this.leaseUntil) {
        this.leaseUntil = until;
        this.armWatchdog();
      }
    } catch {
      // Transient (throttling, network, the deadline): the watchdog ends the lease on time if no
      // later beat renews it.
    }
    if (!this.isEnded) this.schedule();
  }
}
