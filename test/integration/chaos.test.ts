/**
 * Chaos at small scale, fixed seeds: contender processes frozen past their lease while their SDK
 * calls draw faults. The lock and its fences must hold; the checker must see it when they do not.
 * Channels under handler failures, SDK faults and poison values. (The worker pool under worker
 * faults changes the deployed stack: poolChaos.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChannelChaos } from '../../chaos/channelChaos.ts';
import { runLockChaos } from '../../chaos/lockChaos.ts';
import { createMeshTable, deleteMeshTable } from '../../infra/localstack/resources.ts';

let tableName: string;

beforeAll(async () => {
  tableName = await createMeshTable('chaos');
});

afterAll(async () => {
  await deleteMeshTable(tableName);
});

describe('locks under faults', () => {
  it('no lock held twice, no stale fence accepted, the counter exact: 3 processes × 6 increments, frozen past the lease, 10% SDK faults', async () => {
    const result = await runLockChaos({ tableName, workers: 3, increments: 6, leaseMs: 600, faultRate: 0.1, seed: 7, pauses: 6 });

    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ lockViolations: 0, staleFenceWritesAccepted: 0, lost: 0, doubleApplied: 0, counter: 18 });
    expect(result.pausesInjected).toBeGreaterThan(0); // up to 6: the run may end first
    expect(result.faultsInjected).toBeGreaterThan(result.pausesInjected); // SDK faults were drawn too
  });

  it('the checker catches a lock trusted without fences (the negative control)', async () => {
    // Whether a freeze lands between a holder's read and its write is timing: a few seeds.
    let caught = 0;
    for (const seed of [11, 12, 13, 14]) {
      const result = await runLockChaos({
        tableName,
        workers: 3,
        increments: 6,
        leaseMs: 600,
        faultRate: 0.1,
        seed,
        pauses: 6,
        unsafe: true,
      });
      caught = result.lockViolations + result.staleFenceWritesAccepted + result.lost;
      if (caught > 0) break;
    }
    expect(caught).toBeGreaterThan(0);
  });
});

describe('channels under faults', () => {
  it('300 values, 10% handler failures, 3% SDK faults, poison values: every effect applied once, poison dead-lettered with its reason, redriven, none lost', async () => {
    const result = await runChannelChaos({
      tableName,
      messages: 300,
      consumers: 3,
      failureRate: 0.1,
      poisonEvery: 50,
      faultRate: 0.03,
      seed: 3,
    });

    expect(result).toMatchObject({ messages: 300, poison: 6, effects: 300, lost: 0, doubleApplied: 0 });
    expect(result.deadLettered).toBeGreaterThanOrEqual(6); // the poison, and any value that failed 3 times by chance
    expect(result.deadLetteredWithReason).toBe(result.deadLettered);
    expect(result.handlerFailures).toBeGreaterThan(6 * 3); // poison 3 times each, plus the injected failures
    expect(result.sdkFaults).toBeGreaterThan(0);
  });
});
