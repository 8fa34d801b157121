import { defineConfig } from 'vitest/config';

/**
 * `import … from 'fnmesh'` in this repository resolves to the TypeScript sources (package.json's
 * `fnmesh-source` condition), as tsc (customConditions) and the bundler (serverless.yml) do. The
 * rest is vitest's own default for Node (Vite's server conditions without `module`); inline
 * projects do not inherit the root's `resolve`, so each project carries it.
 */
const sourceConditions = ['fnmesh-source', 'node', 'development|production'];

const resolveToSources = {
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: sourceConditions } },
};

export default defineConfig({
  test: {
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      {
        ...resolveToSources,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        ...resolveToSources,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Brings LocalStack up (and down again if it started it) and deploys the smoke stack.
          globalSetup: ['test/integration/globalSetup.ts'],
          // One LocalStack on two cores: files run one after the other, tests inside may overlap.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
