import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Fault tests start and kill whole processes; keep the 2-core machines from oversubscribing.
    maxWorkers: 2,
  },
});
