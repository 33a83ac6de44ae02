import { join } from 'node:path';
import { parseEnv } from '@strongbox/config';
import { bootstrap, createPrismaClient } from '@strongbox/db';
import { Supervisor, type SupervisorEvent } from './processes.js';
import { checkEnvOrExit, childEnvironment, migrate, provideServices, ROOT } from './provision.js';
import { consoleUrl } from './public-url.js';
import { appendSupervisorEvent } from './supervisor-events.js';
import { freePort, LaunchError } from './system.js';
import { buildWebIfStale } from './web-build.js';
import { messageOf } from '@strongbox/core';

const given = checkEnvOrExit();

async function waitForHealth(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/api/v1/health`);
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = messageOf(error);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new LaunchError(`the console did not become healthy at ${url} (${last})`);
}

/** Keeps the restarts for the console to show; losing one (e.g. a full disk) must not stop the supervising. */
function record(event: SupervisorEvent): void {
  try {
    appendSupervisorEvent(given.dataDir, event);
  } catch (error) {
    console.warn(`strongbox: could not record the ${event.kind} event of ${event.process}: ${messageOf(error)}`);
  }
}

async function main() {
  const services = await provideServices(given.dataDir);
  // A crashed web or worker is restarted with backoff; one that keeps crashing stops everything,
  // since a console with no worker would silently back nothing up.
  const supervisor = new Supervisor({
    onEvent: (event) => {
      record(event);
      if (event.kind === 'gave-up') {
        console.error(`strongbox: Strongbox cannot run without ${event.process}; stopping everything`);
        void shutdown(1);
      }
    },
  });
  let stopping = false;
  async function shutdown(code: number) {
    if (stopping) return;
    stopping = true;
    console.log('strongbox: stopping');
    await supervisor.stopAll();
    await services.stop();
    console.log('strongbox: stopped');
    process.exit(code);
  }
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    const port = await freePort(given.PORT ?? 3000, '0.0.0.0');
    const publicUrl = consoleUrl(process.env, port);
    // The data folder as an absolute path: the console runs in apps/web, where ./.data would be another folder.
    const env = childEnvironment(services, { PORT: String(port), STRONGBOX_PUBLIC_URL: publicUrl, NEXTAUTH_URL: publicUrl, STRONGBOX_DATA_DIR: given.dataDir });
    const config = parseEnv(env, ROOT);
    await migrate(config.DATABASE_URL);
    const db = createPrismaClient(config.DATABASE_URL);
    const result = await bootstrap(db, {
      adminEmail: config.STRONGBOX_ADMIN_EMAIL,
      adminPassword: config.STRONGBOX_ADMIN_PASSWORD,
      repositoryPath: config.repositoryPath,
    });
    await db.$disconnect();
    if (result.repository.created) console.log(`strongbox: default backup repository at ${result.repository.path}`);
    buildWebIfStale(ROOT, env);

    supervisor.start('web', process.execPath, [join(ROOT, 'apps/web/node_modules/next/dist/bin/next'), 'start', '-p', String(port)], {
      cwd: join(ROOT, 'apps/web'),
      env,
    });
    supervisor.start(
      'worker',
      process.execPath,
      [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'apps/worker/src/main.ts'), '--role', 'controller,mover'],
      {
        cwd: ROOT,
        env,
      },
    );
    await waitForHealth(`http://127.0.0.1:${port}`, 90_000);

    const lines = [`Strongbox is running: ${publicUrl}`];
    if (result.admin.generatedPassword) {
      lines.push(`First administrator: ${result.admin.email}`, `Password (shown once, change it): ${result.admin.generatedPassword}`);
    } else if (result.admin.created) {
      lines.push(`First administrator: ${result.admin.email} (password from STRONGBOX_ADMIN_PASSWORD)`);
    }
    lines.push('Press Ctrl-C to stop.');
    const width = Math.max(...lines.map((l) => l.length));
    console.log(`\n┌${'─'.repeat(width + 2)}┐\n${lines.map((l) => `│ ${l.padEnd(width)} │`).join('\n')}\n└${'─'.repeat(width + 2)}┘\n`);
  } catch (error) {
    console.error(`strongbox: ${messageOf(error)}`);
    await shutdown(1);
  }
}

main().catch((error: unknown) => {
  console.error(`strongbox: ${messageOf(error)}`);
  process.exit(1);
});
