/**
 * What every lease a caller releases by hand shares: Mutex's held lock, RWMutex's read and write
 * locks, Semaphore's permits. The opening of each unlock and release (a lease that has ended
 * cannot be released: say whether it was lost or released already) and `await using`, which
 * releases what is still held when the scope ends. Once's running function, which the run itself
 * ends, extends LeaseKeeper directly.
 */
import { LockNotHeldError } from '../errors.ts';
import { LeaseKeeper } from './heartbeat.ts';
import type { HolderItem } from './holderItem.ts';

/** @internal Not exported from the package: subclass it inside lib/sync only. */
export abstract class HeldLease extends LeaseKeeper implements AsyncDisposable {
  /** The primitive's name, for errors. */
  abstract readonly name: string;

  /** Releases all that is still held: what leaving an `await using` scope does. */
  protected abstract releaseAll(): Promise<void>;

  /** The item the lease is held on. */
  protected abstract readonly item: HolderItem;

  /**
   * Wakes the primitive's queued waiters of this process (localWakeups.ts): what this lease held
   * is free now, or may be. Called when the lease is lost, and by a release once its write is
   * applied (`released`), never before: a waiter woken earlier would only find it still held.
   */
  protected wakeWaiters(): void {
    this.item.wakeups.freed();
  }

  /** A lease lost (a renewal refused or late, a clock jump) may have freed what it held. */
  protected override lose(reason: string, cause?: unknown): void {
    const held = !this.ended;
    super.lose(reason, cause);
    if (held) this.wakeWaiters();
  }

  /** The close of a release, whatever its write's outcome: `signal` says so, and waiters look. */
  protected released(message: string): void {
    this.abortSignal(new LockNotHeldError(this.name, undefined, message));
    this.wakeWaiters();
  }

  /**
   * The opening of every unlock and release.
   * @throws LockNotHeldError once the lease has ended: with the reason its signal aborted with (it
   *   was lost, or released), or `notHeld` if it is ending without one yet (a release in flight)
   */
  protected throwIfEnded(notHeld: string): void {
    if (!this.ended) return;
    if (this.signal.aborted) throw new LockNotHeldError(this.name, undefined, (this.signal.reason as Error).message);
    throw new LockNotHeldError(this.name, undefined, notHeld);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // Leaving the scope of a lease that was lost is not an error here: the signal reported it.
    if (this.ended) return;
    await this.releaseAll();
  }
}
