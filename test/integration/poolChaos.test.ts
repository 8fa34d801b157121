/**
 * The worker pool of the deployed stack under worker faults, at small scale with a fixed seed: the
 * worker function's invocations throw or crash, and every result still arrives exactly once. It
 * turns the stack's worker function's faults on: this file runs alone (vitest.config.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { runPoolChaos } from '../../chaos/poolChaos.ts';

import { stackDeployed } from '../helpers/stack.ts';

beforeAll(stackDeployed); // the run's one deploy (test/helpers/stack.ts)

describe('the worker pool under worker faults', () => {
  it('15 tasks while 30% of the worker function’s invocations throw or crash: every result exactly once', async () => {
    const result = await runPoolChaos({ tasks: 15, faultRate: 0.3, seed: 5 });

    expect(result).toMatchObject({ tasks: 15, results: 15, lost: 0, doubleApplied: 0 });
    expect(result.faultsInjected).toBeGreaterThan(0);
  }, 300_000);
});
