/** The lock safety checker finds each kind of violation in a history, and passes a clean one. */
import { describe, expect, it } from 'vitest';
import { checkLockHistory, type Grant, type LockHistory, logEntry, type WriteRecord } from '../../chaos/lockHistory.ts';

const grant = (process: string, fence: number, invokedAt: number, acquiredAt: number): Grant => ({ process, fence, invokedAt, acquiredAt });
const write = (process: string, fence: number, n: number, outcome: WriteRecord['outcome'] = 'accepted'): WriteRecord => ({
  process,
  fence,
  entry: logEntry(fence, process, n),
  outcome,
});

/** a holds fence 1, pauses past its lease; b takes fence 2 and writes; a's late write is refused. */
function clean(): LockHistory {
  return {
    grants: [grant('a', 1, 0, 5), grant('b', 2, 3, 900)],
    writes: [write('a', 1, 0), write('b', 2, 0), write('a', 1, 1, 'stale'), write('b', 2, 1)],
    log: [logEntry(1, 'a', 0), logEntry(2, 'b', 0), logEntry(2, 'b', 1)],
  };
}

describe('checkLockHistory', () => {
  it('passes a history where a paused holder was fenced off', () => {
    const check = checkLockHistory(clean());
    expect(check).toMatchObject({ grants: 2, acceptedWrites: 3, staleWritesRefused: 1, lockViolations: 0, staleFenceWritesAccepted: 0 });
    expect(check.problems).toEqual([]);
  });

  it('finds a fence granted twice', () => {
    const history = clean();
    history.grants.push(grant('c', 2, 950, 960));
    const check = checkLockHistory(history);
    expect(check.problems.join('\n')).toMatch(/fence 2 granted twice/);
    expect(check.lockViolations).toBe(2); // shared, and (asked for after b's grant) not larger
  });

  it('finds fences out of real-time order', () => {
    const history = clean();
    history.grants.push(grant('c', 1.5, 1000, 1001));
    expect(checkLockHistory(history).problems.join()).toMatch(/not larger/);
  });

  it('finds a stale-fence write that was accepted, and a write refused as stale that is in the log anyway', () => {
    const history = clean();
    history.log.push(logEntry(1, 'a', 1));
    const check = checkLockHistory(history);
    expect(check.staleFenceWritesAccepted).toBe(2); // out of fence order, and contradicting the client
    expect(check.lockViolations).toBe(1); // a wrote again after b: interleaved holders
  });

  it('finds interleaved holders even when fences never go back', () => {
    const history: LockHistory = {
      grants: [grant('a', 1, 0, 1), grant('b', 2, 0, 2)],
      writes: [write('a', 1, 0), write('b', 2, 0), write('a', 1, 1)],
      log: [logEntry(1, 'a', 0), logEntry(2, 'b', 0), logEntry(1, 'a', 1)],
    };
    const check = checkLockHistory(history);
    expect(check.lockViolations).toBe(1);
    expect(check.staleFenceWritesAccepted).toBe(1);
  });

  it('finds disagreements between clients and the log: lost, doubled and unknown writes', () => {
    const history = clean();
    history.writes.push(write('b', 2, 2)); // reported accepted, missing
    history.log.push(logEntry(2, 'b', 1)); // applied twice
    history.log.push(logEntry(2, 'zz', 0)); // nobody wrote it
    history.writes.push(write('b', 2, 4, 'refused'));
    history.log.push(logEntry(2, 'b', 4)); // reported not applied, yet applied
    const check = checkLockHistory(history);
    expect(check.lockViolations).toBe(4);
  });

  it('accepts writes of unknown outcome either way', () => {
    const history = clean();
    history.writes.push(write('b', 2, 2, 'unknown'), write('b', 2, 3, 'unknown'));
    history.log.push(logEntry(2, 'b', 2));
    expect(checkLockHistory(history).lockViolations).toBe(0);
  });
});
