/** What the chaos run tells each lock contender process (chaos/lockWorker.ts), and the counter they share. */
export interface LockWorkerArgs {
  tableName: string;
  lockName: string;
  id: string;
  increments: number;
  leaseMs: number;
  /** Work under the lock between the read and the write: up to this many ms (seeded). */
  workMs: number;
  faultRate: number;
  /** The negative control: write without fence or compare-and-set, trusting the lease alone. */
  unsafe?: boolean;
  seed: number;
}

export const counterKey = (lockName: string) => ({ pk: { S: `chaos#${lockName}` }, sk: { S: 'counter' } });
