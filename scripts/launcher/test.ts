import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { parseEnv } from '@strongbox/config';
import { bootstrap, createPrismaClient } from '@strongbox/db';
import { ensureDatabase } from '@strongbox/db/migrate';
import { ensureLab, guestfsEnvironment, labUnavailableReason } from '../lab/index.js';
import { Supervisor, type SupervisorEvent } from './processes.js';
import { checkEnvOrExit, childEnvironment, migrate, provideServices, ROOT, type Services } from './provision.js';
import { aptInstall, freePort, LaunchError, which } from './system.js';
import { failures, playwrightCounts, runRunner, runRunnerAsync, vitestCounts, type SuiteResult } from './test-suites.js';
import { buildWebIfStale } from './web-build.js';
import { messageOf } from '@strongbox/core';

const SUITES = ['static', 'unit', 'integration', 'e2e'] as const;
type Suite = (typeof SUITES)[number];

function selectedSuites(argv: string[]): Suite[] {
  const i = argv.indexOf('--only');
  if (i < 0) return [...SUITES];
  const wanted = (argv[i + 1] ?? '').split(',');
  for (const w of wanted) {
    if (!(SUITES as readonly string[]).includes(w)) {
      console.error(`strongbox test: --only takes ${SUITES.join(', ')} (comma-separated)`);
      process.exit(2);
    }
  }
  return wanted as Suite[];
}

/** `--grep <pattern>`: only the end-to-end tests whose title matches (a developer's shortcut). */
function e2eGrep(argv: string[]): string[] {
  const i = argv.indexOf('--grep');
  return i >= 0 && argv[i + 1] ? ['--grep', argv[i + 1]!] : [];
}

const given = checkEnvOrExit();
const suites = selectedSuites(process.argv.slice(2));
const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const resultsDir = join(given.dataDir, 'test-results', runId);
const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs');

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function dropDatabases(url: string, names: string[]) {
  const client = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await client.connect();
  try {
    for (const name of names) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

async function deleteKeys(url: string, prefix: string) {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

function vitestSuite(name: 'unit' | 'integration', env: NodeJS.ProcessEnv): SuiteResult {
  console.log(`\n━━ ${name} tests ━━`);
  const json = join(resultsDir, `${name}.json`);
  const code = runRunner(process.execPath, [vitest, 'run', '--project', name, '--reporter=default', '--reporter=json', `--outputFile.json=${json}`], {
    cwd: ROOT,
    env,
  });
  return vitestCounts(name, json, code);
}

/** Type checks, lint and formatting: each a check that passes or fails. */
function staticSuite(): SuiteResult {
  console.log('\n━━ static checks (typecheck, lint, format) ━━');
  const checks = [
    ['typecheck', [join(ROOT, 'scripts/typecheck.mjs')]],
    ['lint', [join(ROOT, 'node_modules/eslint/bin/eslint.js'), '.']],
    ['format', [join(ROOT, 'node_modules/prettier/bin/prettier.cjs'), '--check', '.']],
  ] as const;
  let passed = 0;
  let failed = 0;
  for (const [name, args] of checks) {
    const code = runRunner(process.execPath, [...args], { cwd: ROOT, env: process.env });
    console.log(`${name}: ${code === 0 ? 'ok' : 'FAILED'}`);
    if (code === 0) passed++;
    else failed++;
  }
  return { name: 'static', passed, failed, skipped: 0, exitCode: failed ? 1 : 0 };
}

function ensureChromium(): string {
  const path = '/usr/bin/chromium';
  if (which('chromium') || which('chromium-browser')) return which('chromium') ?? which('chromium-browser')!;
  aptInstall(['chromium'], "Debian's Chromium (for the end-to-end tests)");
  return path;
}

async function e2eSuite(services: Services, dbName: string, prefix: string): Promise<SuiteResult> {
  console.log('\n━━ end-to-end tests (Playwright, Chromium) ━━');
  const chromium = ensureChromium();
  const port = await freePort(3100);
  const baseUrl = `http://127.0.0.1:${port}`;
  const adminPassword = randomBytes(12).toString('base64url');
  const databaseUrl = withDatabase(services.databaseUrl, dbName);
  const env = childEnvironment(
    { ...services, databaseUrl },
    {
      PORT: String(port),
      STRONGBOX_PUBLIC_URL: baseUrl,
      NEXTAUTH_URL: baseUrl,
      STRONGBOX_REDIS_PREFIX: prefix,
      STRONGBOX_DATA_DIR: join(resultsDir, 'e2e-data'),
      STRONGBOX_MOVER_NAME: `e2e-mover-${runId}`,
    },
  );
  const config = parseEnv(env, ROOT);
  await migrate(databaseUrl);
  const db = createPrismaClient(databaseUrl);
  const boot = await bootstrap(db, { adminEmail: config.STRONGBOX_ADMIN_EMAIL, adminPassword, repositoryPath: config.repositoryPath });
  await db.$disconnect();
  buildWebIfStale(ROOT, env);
  // Restarted like under `npm start` (Playwright runs without blocking the event loop for that),
  // so one crash does not fail every later test; but a crash is a bug, so any restart or give-up
  // fails the suite even when the tests after it pass.
  const crashes: SupervisorEvent[] = [];
  const supervisor = new Supervisor({ log: (message) => console.error(`strongbox test: ${message}`), onEvent: (event) => crashes.push(event) });
  try {
    supervisor.start('web', process.execPath, [join(ROOT, 'apps/web/node_modules/next/dist/bin/next'), 'start', '-p', String(port), '-H', '127.0.0.1'], {
      cwd: join(ROOT, 'apps/web'),
      env,
    });
    supervisor.start('worker', process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'apps/worker/src/main.ts')], { cwd: ROOT, env });
    const deadline = Date.now() + 90_000;
    while (
      !(await fetch(`${baseUrl}/api/v1/health`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) throw new LaunchError(`the console did not become healthy at ${baseUrl}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const json = join(resultsDir, 'e2e.json');
    const code = await runRunnerAsync(
      process.execPath,
      [
        join(ROOT, 'node_modules/@playwright/test/cli.js'),
        'test',
        '--config',
        join(ROOT, 'playwright/playwright.config.ts'),
        ...e2eGrep(process.argv.slice(2)),
      ],
      {
        cwd: ROOT,
        env: {
          ...env,
          E2E_BASE_URL: baseUrl,
          E2E_ADMIN_EMAIL: boot.admin.email,
          E2E_ADMIN_PASSWORD: adminPassword,
          E2E_RESULTS_DIR: resultsDir,
          E2E_CHROMIUM: chromium,
        },
      },
    );
    const result = playwrightCounts('e2e', json, code);
    // A crash whose restart is still waiting out its backoff has sent no event yet.
    const crashed = new Set(crashes.map((e) => e.process));
    for (const name of ['web', 'worker']) if (supervisor.status(name).state !== 'running') crashed.add(name);
    if (!crashed.size) return result;
    console.error(`strongbox test: ${[...crashed].join(' and ')} crashed during the end-to-end tests; the suite fails`);
    return { ...result, exitCode: result.exitCode || 1 };
  } finally {
    await supervisor.stopAll();
  }
}

/**
 * The lab of real VMs (packages, guest kernel, libvirt daemons) is provisioned here, once,
 * like Chromium: on a fresh machine that takes minutes, which no test hook should pay.
 */
async function provideLab(): Promise<void> {
  const reason = labUnavailableReason();
  if (reason) {
    console.warn(`strongbox test: the tests on real VMs will be skipped: ${reason}`);
    return;
  }
  console.log('\n━━ lab (libvirt, QEMU, guest image) ━━');
  const paths = await ensureLab();
  // libguestfs (guest-file mounts) on this machine's lab kernel: every suite's processes inherit it.
  Object.assign(process.env, await guestfsEnvironment(paths));
  console.log('lab ready');
}

async function main() {
  mkdirSync(resultsDir, { recursive: true });
  const services = await provideServices(given.dataDir);
  const testDb = `strongbox_test_${runId}`;
  const e2eDb = `strongbox_e2e_${runId}`;
  const prefix = `sbtest_${runId}`;
  const results: SuiteResult[] = [];
  try {
    const integrationUrl = withDatabase(services.databaseUrl, testDb);
    if (suites.includes('integration')) {
      await ensureDatabase(integrationUrl);
      await migrate(integrationUrl);
    }
    if (suites.includes('integration') || suites.includes('e2e')) await provideLab();
    const env = childEnvironment(
      { ...services, databaseUrl: integrationUrl },
      { NODE_ENV: 'test', STRONGBOX_REDIS_PREFIX: prefix, STRONGBOX_DATA_DIR: join(resultsDir, 'data') },
    );
    if (suites.includes('static')) results.push(staticSuite());
    if (suites.includes('unit')) results.push(vitestSuite('unit', env));
    if (suites.includes('integration')) results.push(vitestSuite('integration', env));
    if (suites.includes('e2e')) results.push(await e2eSuite(services, e2eDb, `${prefix}e2e`));
  } finally {
    await dropDatabases(services.databaseUrl, [testDb, e2eDb]).catch((e: unknown) => console.error('strongbox test: dropping test databases failed:', e));
    await deleteKeys(services.redisUrl, prefix).catch((e: unknown) => console.error('strongbox test: deleting test keys failed:', e));
    await deleteKeys(services.redisUrl, `${prefix}e2e`).catch((e: unknown) => console.error('strongbox test: deleting test keys failed:', e));
    await services.stop();
    rmSync(join(resultsDir, 'data'), { recursive: true, force: true });
  }
  console.log('\n━━ summary ━━');
  for (const r of results) {
    console.log(`${r.name}: ${r.passed} passed, ${failures(r)} failed, ${r.skipped} skipped`);
  }
  const total = results.reduce((acc, r) => ({ passed: acc.passed + r.passed, failed: acc.failed + failures(r), skipped: acc.skipped + r.skipped }), {
    passed: 0,
    failed: 0,
    skipped: 0,
  });
  console.log(`total: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
  console.log(`reports: ${resultsDir}`);
  process.exit(total.failed > 0 ? 1 : 0);
}

main().catch((error: unknown) => {
  console.error(`strongbox test: ${messageOf(error)}`);
  process.exit(1);
});
