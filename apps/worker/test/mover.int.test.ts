import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@strongbox/config';
import { createPrismaClient, Movers } from '@strongbox/db';
import { Redis } from 'ioredis';
import { MoverRole } from '../src/mover/mover-role.js';

const env = parseEnv(process.env);
const db = createPrismaClient(env.DATABASE_URL);
const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
afterAll(async () => {
  await db.$disconnect();
  redis.disconnect();
});

describe('MoverRole', () => {
  it('registers itself with its cores and limit, and shows online', async () => {
    const name = `int-mover-${randomBytes(3).toString('hex')}`;
    const mover = new MoverRole(db, redis, env.STRONGBOX_REDIS_PREFIX, { name, site: 'lab', softwareVersion: 'test' }, pino({ level: 'silent' }));
    await mover.start();
    await mover.stop();
    const row = (await new Movers(db).list()).find((m) => m.name === name)!;
    expect(row.site).toBe('lab');
    expect(row.cores).toBeGreaterThan(0);
    expect(row.maxConcurrentTasks).toBe(row.cores);
    expect(row.online).toBe(true);
    // An hour later without a heartbeat it is offline.
    const later = new Date(Date.now() + 3_600_000);
    expect((await new Movers(db).list(later)).find((m) => m.name === name)!.online).toBe(false);
  });

  it('keeps an administrator\u2019s task limit when it registers again', async () => {
    const name = `int-mover-${randomBytes(3).toString('hex')}`;
    const log = pino({ level: 'silent' });
    const first = new MoverRole(db, redis, env.STRONGBOX_REDIS_PREFIX, { name, site: 'lab', softwareVersion: 'test' }, log);
    await first.start();
    await first.stop();
    await db.mover.update({ where: { name }, data: { maxConcurrentTasks: 7 } });
    const again = new MoverRole(db, redis, env.STRONGBOX_REDIS_PREFIX, { name, site: 'lab', maxConcurrentTasks: 1, softwareVersion: 'test' }, log);
    await again.start();
    await again.stop();
    expect((await db.mover.findUniqueOrThrow({ where: { name } })).maxConcurrentTasks).toBe(7);
  });
});
