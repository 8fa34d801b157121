/**
 * The worker pool of the deployed stack under worker faults, at small scale with a fixed seed: the
 * worker function's invocations throw or crash, and every result still arrives exactly once. It
 * turns the stack's worker function's faults on: it takes the stack alone (test/helpers/stack.ts).
 */
import { describe, expect, it } from 'vitest';
import { runPoolChaos } from '../../chaos/poolChaos.ts';

import { useTheStack } from '../helpers/stack.ts';

useTheStack({ alone: true }); // the run's one deploy, to itself (test/helpers/stack.ts)

describe('the worker pool under worker faults', () => {
  it('15 tasks while 30% of the worker function’s invocations throw or crash: every result exactly once', async () => {
    const result = await runPoolChaos({ tasks: 15, faultRate: 0.3, seed: 5 });

    expect(result).toMatchObject({ tasks: 15, results: 15, lost: 0, doubleApplied: 0 });
    expect(result.faultsInjected).toBeGreaterThan(0);
  }, 300_000);
});
