import { Movers, prisma } from '@strongbox/db';
import { redis } from './redis';
import type { HealthDto } from './schemas';
import { messageOf } from '@strongbox/core';

function reason(error: unknown): string {
  return messageOf(error);
}

/** Database, Redis and registered movers, each checked for real. */
export async function checkHealth(): Promise<HealthDto> {
  const db = prisma();
  const [database, cache] = await Promise.all([
    db.$queryRaw`SELECT 1`.then(
      () => ({ status: 'ok' as const }),
      (error: unknown) => ({ status: 'error' as const, error: reason(error) }),
    ),
    redis()
      .ping()
      .then(
        () => ({ status: 'ok' as const }),
        (error: unknown) => ({ status: 'error' as const, error: reason(error) }),
      ),
  ]);
  const movers =
    database.status === 'ok'
      ? (await new Movers(db).list()).map((m) => ({
          name: m.name,
          hostName: m.hostName,
          site: m.site,
          online: m.online,
          lastHeartbeatAt: m.lastHeartbeatAt.toISOString(),
          maxConcurrentTasks: m.maxConcurrentTasks,
        }))
      : [];
  const ok = database.status === 'ok' && cache.status === 'ok';
  return { status: ok ? 'ok' : 'degraded', database, redis: cache, movers };
}
