/** The test suite runs against the local cloud: fnmesh's LocalStack, with this service deployed to it (stage local). */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The local cloud up, and this service deployed to it (stage local), before any test.
    globalSetup: ['test/globalSetup.ts'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // One local cloud: test files one after the other.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});
