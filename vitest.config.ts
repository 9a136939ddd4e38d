import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores: integration files each start a local stack; more in parallel only thrashes.
    maxWorkers: 2,
    // The SDK warns once per process that Node 20 support ends in 2027; the suite runs on Node 20
    // by design (see docs/dependencies.md), and the warning drowns the captured logs tests read.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
