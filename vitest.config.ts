import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure, beside the source) and `integration` (real PostgreSQL,
// Redis and libvirt/QEMU provisioned by scripts/test.mjs, which sets the env).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'scripts/**/*.test.ts'],
          // Integration tests beside scripts (they start real services) belong to the other project.
          exclude: ['**/node_modules/**', '**/*.int.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.int.test.ts', 'apps/*/test/**/*.int.test.ts', 'scripts/**/*.int.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Integration suites share one database per run; files run one at a time so
          // that the 2-core machines are not oversubscribed by VMs and Postgres at once.
          fileParallelism: false,
        },
      },
    ],
  },
});
