import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadEnvOrExit } from '@strongbox/config';
import { createPrismaClient } from '@strongbox/db';
import { Controller } from './controller/controller.js';
import { MoverRole } from './mover/mover-role.js';
import { parseRoles } from './roles.js';

const env = loadEnvOrExit();
const log = pino({ level: env.LOG_LEVEL, base: { process: 'worker' } });

let roles;
try {
  roles = parseRoles(process.argv.slice(2));
} catch (error) {
  console.error(`Strongbox worker: ${(error as Error).message}`);
  process.exit(2);
}

const db = createPrismaClient(env.DATABASE_URL);
// BullMQ's blocking commands must not give up: without maxRetriesPerRequest: null a Redis
// blip would fail them instead of waiting for Redis to come back.
const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
const stops: (() => Promise<void>)[] = [];

if (roles.has('controller')) {
  const controller = new Controller(db, redis, env.STRONGBOX_REDIS_PREFIX, log.child({ role: 'controller' }), { publicUrl: env.STRONGBOX_PUBLIC_URL });
  await controller.start();
  stops.push(() => controller.stop());
}

if (roles.has('mover')) {
  const mover = new MoverRole(
    db,
    redis,
    env.STRONGBOX_REDIS_PREFIX,
    {
      name: env.STRONGBOX_MOVER_NAME,
      site: env.STRONGBOX_SITE,
      maxConcurrentTasks: env.STRONGBOX_MOVER_MAX_TASKS,
      workDir: env.STRONGBOX_MOVER_WORK_DIR,
      softwareVersion: '0.1.0',
      failpoint: env.STRONGBOX_FAILPOINT,
      fileService: { listen: env.STRONGBOX_MOVER_FILES_LISTEN, url: env.STRONGBOX_MOVER_FILES_URL },
    },
    log.child({ role: 'mover' }),
  );
  await mover.start();
  stops.push(() => mover.stop());
}

log.info({ roles: [...roles] }, 'worker started');

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'worker stopping');
  for (const stop of stops.reverse()) await stop();
  await redis.quit();
  await db.$disconnect();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
