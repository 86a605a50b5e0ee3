import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['libs/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'test/**/*.test.ts', 'demo/src/**/*.test.ts', 'bench/src/**/*.test.ts'],
    // Integration tests start real processes (nats-server, services); two cores are shared.
    // The end-to-end demo runs (test/e2e) measure latency, and capture's pacing and playback's flush tests measure
    // wall time, so `pnpm test` runs them one at a time after the rest (see package.json).
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
