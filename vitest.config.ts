import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import Sequencer, { ALONE_PROJECT } from './test/sequencer.ts';

/**
 * `import … from 'fnmesh'` in this repository resolves to the TypeScript sources (package.json's
 * `fnmesh-source` condition), as tsc (customConditions) and the bundler (serverless.yml) do. The
 * rest is vitest's own default for Node (Vite's server conditions without `module`); inline
 * projects do not inherit the root's `resolve`, so each project carries it.
 */
const sourceConditions = ['fnmesh-source', 'node', 'development|production'];

/**
 * Files running side by side against the one LocalStack. Most integration tests wait (leases,
 * long polls, invocations), so three at once on two cores keeps the machine busy without
 * starving any of them.
 */
const SIDE_BY_SIDE = 3;

/** Files that use the deployed stack; stackSetup.ts deploys it once for all of them. */
const USES_THE_STACK = [
  'test/integration/bench.test.ts',
  'test/integration/cliCommands.test.ts',
  'test/integration/demos.test.ts',
  'test/integration/fuzzFunctions.test.ts',
  'test/integration/scenarios.test.ts',
  'test/integration/smokeStack.test.ts',
  'test/integration/ui*.test.ts',
];

/**
 * Files that need the deployed stack to themselves: they change it for everyone (a function's
 * configuration) or count exactly on its channels and dead-letter queues. Each takes the stack
 * alone (test/helpers/stack.ts); the sequencer gives them their turns among the files that need
 * no stack (test/sequencer.ts).
 */
const NEEDS_THE_STACK_ALONE = ['test/integration/poolChaos.test.ts', 'test/integration/uiStack.test.ts'];

/** Takes the stack away: last of all. */
const REMOVES_THE_STACK = ['test/integration/stackRemoval.test.ts'];

function project(name: string, test: TestProjectInlineConfiguration['test']): TestProjectInlineConfiguration {
  return {
    resolve: { conditions: sourceConditions },
    ssr: { resolve: { conditions: sourceConditions } },
    // The globalSetup files run in vitest's own environment (`__vitest__`), which resolves a
    // package by its `module` field as a bundler would: the AWS SDK's clients to their dist-es
    // builds, ES modules that Node cannot load as they are, so vitest transformed all 766 of their
    // files first (6 s before LocalStack started, every run). By `main`, as Node and the test
    // files resolve them, they load as they are.
    environments: { __vitest__: { resolve: { conditions: sourceConditions, mainFields: [] } } },
    test: { name, maxWorkers: SIDE_BY_SIDE, ...test },
  };
}

/** LocalStack up (and down again at the end if it was started for this run); files create what they need. */
const integration = { globalSetup: ['test/integration/globalSetup.ts'], testTimeout: 120_000, hookTimeout: 300_000 };
/** …and the stack deployed once for every file that uses it (the first stack project's setup deploys). */
const stack = { ...integration, globalSetup: [...integration.globalSetup, 'test/integration/stackSetup.ts'] };

export default defineConfig({
  test: {
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    sequence: { sequencer: Sequencer },
    projects: [
      // Side by side with integration files on a busy machine: a property test of thousands of
      // cases may take longer than vitest's default 5 s.
      project('unit', { include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 }),
      project('integration', {
        ...integration,
        include: ['test/integration/**/*.test.ts'],
        exclude: [...configDefaults.exclude, ...USES_THE_STACK, ...NEEDS_THE_STACK_ALONE, ...REMOVES_THE_STACK],
      }),
      project('stack', {
        ...stack,
        include: USES_THE_STACK,
        exclude: [...configDefaults.exclude, ...NEEDS_THE_STACK_ALONE],
      }),
      project(ALONE_PROJECT, { ...stack, include: NEEDS_THE_STACK_ALONE }),
      project('stack-removal', { ...stack, include: REMOVES_THE_STACK, maxWorkers: 1, sequence: { groupOrder: 1 } }),
    ],
  },
});
