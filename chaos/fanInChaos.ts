/**
 * A wide fan-in on one WaitGroup: `tasks` `done()` calls at once (as that many workers finishing
 * together would make), from several clients whose calls draw SDK faults, while a waiter waits.
 * A `done` that gives up (its conflict retries spent, or a fault on every attempt) is retried, as
 * Lambda retries a failed worker. What must hold: every task counted out exactly once (the
 * counter ends at 0, never below: `doubleApplied` otherwise), and the waiter wakes.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { setMaxListeners } from 'node:events';
import { TransactionConflictError } from '../lib/errors.ts';
import { SdkFaults } from '../lib/faults/sdkFaults.ts';
import { WaitGroup } from '../lib/sync/WaitGroup.ts';
import { localConfig } from '../infra/localstack/clients.ts';

export interface FanInChaosOptions {
  tableName: string;
  tasks: number;
  /** The WaitGroup's counter shards (1: one counter item). */
  shards: number;
  /** Separate SDK clients the done calls are spread over. */
  clients: number;
  faultRate: number;
  seed: number;
  timeoutMs: number;
}

export interface FanInChaosResult {
  tasks: number;
  shards: number;
  /** done() calls made, retries included, and those that gave up (then were retried). */
  doneCalls: number;
  gaveUpOnConflicts: number;
  gaveUpOnFaults: number;
  sdkFaults: number;
  /** Tasks whose done() never succeeded within the run. */
  lost: number;
  /** Counted out more than once (the counter went below zero). */
  doubleApplied: number;
  waiterWoke: boolean;
  seconds: number;
}

export async function runFanInChaos(options: FanInChaosOptions): Promise<FanInChaosResult> {
  const startedAt = Date.now();
  const name = `chaos-fanin-${options.seed}-${Date.now().toString(36)}`;
  const faults = Array.from(
    { length: options.clients },
    (_, index) => new SdkFaults({ rate: options.faultRate, seed: options.seed * 100 + index }),
  );
  const groups = faults.map(
    (fault) =>
      new WaitGroup({
        client: fault.attach(new DynamoDBClient({ ...localConfig, maxAttempts: 3 })),
        tableName: options.tableName,
        name,
        shards: options.shards,
      }),
  );
  const plain = new WaitGroup({ client: new DynamoDBClient(localConfig), tableName: options.tableName, name, shards: options.shards });
  await plain.add(options.tasks);
  const deadline = AbortSignal.timeout(options.timeoutMs);
  setMaxListeners(options.tasks + 10, deadline); // every done call in flight listens to it
  const waiting = plain.wait({ signal: deadline }).then(
    () => true,
    () => false,
  );
  let doneCalls = 0;
  let gaveUpOnConflicts = 0;
  let gaveUpOnFaults = 0;
  let lost = 0;
  await Promise.all(
    Array.from({ length: options.tasks }, async (_, task) => {
      const group = groups[task % groups.length]!;
      for (;;) {
        if (deadline.aborted) {
          lost++;
          return;
        }
        doneCalls++;
        try {
          await group.done(`task-${task}`, { signal: deadline });
          return;
        } catch (err) {
          if (err instanceof TransactionConflictError) gaveUpOnConflicts++;
          else gaveUpOnFaults++;
        }
      }
    }),
  );
  const waiterWoke = await waiting;
  const count = await plain.count();
  return {
    tasks: options.tasks,
    shards: options.shards,
    doneCalls,
    gaveUpOnConflicts,
    gaveUpOnFaults,
    sdkFaults: faults.reduce((sum, fault) => sum + fault.total, 0),
    lost: lost + Math.max(0, count),
    doubleApplied: Math.max(0, -count),
    waiterWoke,
    seconds: (Date.now() - startedAt) / 1000,
  };
}
