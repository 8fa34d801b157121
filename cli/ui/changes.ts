/**
 * Whether a status document says anything new, for `fnmesh ui`'s event stream: the server sends a
 * full `status` event only when the mesh changed, and a small `unchanged` event (its read time)
 * otherwise. On a table with hundreds of channels and locks a status document is tens of KB; most
 * ticks change nothing.
 *
 * What counts as a change: everything but `readAt`, and a lease's time left read as the moment it
 * ends (`readAt + leaseLeftMs`, the holder's lease end on this process's clock; "expired" once it
 * is 0), so a lease counting down is no change, and a renewal (a new lease end) is one. The page
 * counts leases down on its own clock from the last document it got.
 */
import type { ApiStatus } from './web/types.ts';

/** A string equal for two documents exactly when they show the same mesh. */
export function statusFingerprint(status: ApiStatus): string {
  return JSON.stringify(status, (key, value: unknown) => {
    if (key === 'readAt') return undefined;
    if (key === 'leaseLeftMs' && typeof value === 'number') return value === 0 ? 'expired' : status.readAt + value;
    return value;
  });
}

/** Remembers what one listener was last sent, and tells whether the next document is news to it. */
export class ChangeFilter {
  private sent: string | undefined;

  /** True (and remembered) if `status` differs from the last one let through. */
  changed(status: ApiStatus): boolean {
    const print = statusFingerprint(status);
    if (print === this.sent) return false;
    this.sent = print;
    return true;
  }

  /** Forget the last document (after a failed read, the next one is sent whatever it says). */
  reset(): void {
    this.sent = undefined;
  }
}
