import { defineConfig } from '@playwright/test';
import { join } from 'node:path';

// Run by scripts/launcher/test.ts, which starts the console on a fresh database and sets
// these; Debian's Chromium only, never a browser download.
const results = process.env.E2E_RESULTS_DIR ?? join(import.meta.dirname, '../.data/test-results/manual');

export default defineConfig({
  testDir: '.',
  testMatch: '**/*.spec.ts',
  outputDir: join(results, 'e2e-artifacts'),
  timeout: 60_000,
  workers: 1,
  reporter: [['list'], ['json', { outputFile: join(results, 'e2e.json') }], ['html', { open: 'never', outputFolder: join(results, 'e2e-report') }]],
  use: {
    baseURL: process.env.E2E_BASE_URL,
    screenshot: 'on',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.E2E_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
});
