/**
 * The lock safety checker: given what many contenders saw (grants, fenced writes and their
 * outcomes) and what the protected item recorded (its log of accepted writes, in the order the
 * database applied them), it checks the guarantees a lock with fencing tokens promises:
 *
 *   - every grant has its own fence, and a grant asked for after another was made has a larger one;
 *   - the protected item accepted writes in fence order: no write with a fence smaller than one
 *     it had already accepted (a stale fence) got through;
 *   - no two holders' accepted writes interleave: once a later holder wrote, an earlier one never
 *     wrote again;
 *   - what clients were told agrees with the log: an accepted write is in it, a write refused as
 *     stale is not, and nothing is in it that no client wrote.
 *
 * Pure: histories come from chaos/lockWorker.ts runs (or from a test).
 */

export interface Grant {
  process: string;
  fence: number;
  /** When `lock()` was called and when it returned (epoch ms, the contender's clock). */
  invokedAt: number;
  acquiredAt: number;
}

/**
 * accepted: applied. stale: refused for its fence. refused: not applied for another reason (its
 * compare-and-set lost, or every attempt failed; the client checked the log). unknown: the
 * client could not tell.
 */
export type WriteOutcome = 'accepted' | 'stale' | 'refused' | 'unknown';

export interface WriteRecord {
  process: string;
  fence: number;
  /** The log entry the write appends: `<fence>:<process>:<n>`. */
  entry: string;
  outcome: WriteOutcome;
}

export interface LockHistory {
  grants: Grant[];
  writes: WriteRecord[];
  /** The protected item's log: the entries of accepted writes, in the order they were applied. */
  log: string[];
}

export interface LockCheck {
  grants: number;
  acceptedWrites: number;
  staleWritesRefused: number;
  /** Fences shared or out of order, interleaved holders, disagreements between clients and the log. */
  lockViolations: number;
  staleFenceWritesAccepted: number;
  problems: string[];
}

export const logEntry = (fence: number, process: string, n: number) => `${fence}:${process}:${n}`;

function fenceOf(entry: string): number {
  const fence = Number(entry.split(':', 1)[0]);
  if (!Number.isSafeInteger(fence)) throw new Error(`not a log entry: ${entry}`);
  return fence;
}

export function checkLockHistory(history: LockHistory): LockCheck {
  const problems: string[] = [];
  let lockViolations = 0;
  let staleFenceWritesAccepted = 0;
  const violation = (problem: string) => {
    lockViolations++;
    problems.push(problem);
  };

  // Fences: one per grant, and in real-time order.
  const byFence = new Map<number, Grant>();
  for (const grant of history.grants) {
    const other = byFence.get(grant.fence);
    if (other) violation(`fence ${grant.fence} granted twice: to ${other.process} and to ${grant.process}`);
    else byFence.set(grant.fence, grant);
  }
  const sorted = [...history.grants].sort((a, b) => a.acquiredAt - b.acquiredAt);
  for (const [index, earlier] of sorted.entries()) {
    for (const later of sorted.slice(index + 1)) {
      if (later.invokedAt > earlier.acquiredAt && later.fence <= earlier.fence) {
        violation(
          `fence ${later.fence} (${later.process}) was asked for after fence ${earlier.fence} (${earlier.process}) was granted, yet is not larger`,
        );
      }
    }
  }

  // The log: fences never go back (stale writes), and holders never interleave.
  let highest = 0;
  const finished = new Set<number>();
  let current: number | undefined;
  for (const entry of history.log) {
    const fence = fenceOf(entry);
    if (fence < highest) {
      staleFenceWritesAccepted++;
      problems.push(`a write with stale fence ${fence} was accepted after fence ${highest} had written (${entry})`);
    }
    if (current !== undefined && fence !== current) finished.add(current);
    if (finished.has(fence)) violation(`the holder of fence ${fence} wrote again after a later holder had written (${entry})`);
    current = fence;
    highest = Math.max(highest, fence);
  }

  // Clients and the log agree.
  const logged = new Map<string, number>();
  for (const entry of history.log) logged.set(entry, (logged.get(entry) ?? 0) + 1);
  const written = new Set(history.writes.map((write) => write.entry));
  for (const write of history.writes) {
    const times = logged.get(write.entry) ?? 0;
    if (times > 1) violation(`write ${write.entry} was applied ${times} times`);
    if (write.outcome === 'accepted' && times === 0) violation(`write ${write.entry} was reported accepted but is not in the log`);
    if (write.outcome === 'refused' && times > 0) violation(`write ${write.entry} was reported not applied but is in the log`);
    if (write.outcome === 'stale' && times > 0) {
      staleFenceWritesAccepted++;
      problems.push(`write ${write.entry} was refused as stale but is in the log`);
    }
  }
  for (const entry of logged.keys()) if (!written.has(entry)) violation(`the log holds ${entry}, which no client wrote`);

  return {
    grants: history.grants.length,
    acceptedWrites: history.log.length,
    staleWritesRefused: history.writes.filter((write) => write.outcome === 'stale').length,
    lockViolations,
    staleFenceWritesAccepted,
    problems,
  };
}
