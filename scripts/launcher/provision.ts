import { join } from 'node:path';
import { checkGivenEnv, EnvError, type GivenEnv } from '@strongbox/config';
import { applyMigrations } from '@strongbox/db/migrate';
import { providePostgres, type Service } from './postgres.js';
import { provideRedis } from './redis.js';
import { readState, secret, writeState } from './state.js';

export type Services = {
  databaseUrl: string;
  redisUrl: string;
  authSecret: string;
  stop(): Promise<void>;
};

export const ROOT = join(import.meta.dirname, '../..');

/** Stops with one clear line when a given variable is malformed, before touching anything. */
export function checkEnvOrExit(): GivenEnv {
  try {
    return checkGivenEnv(process.env, ROOT);
  } catch (error) {
    if (error instanceof EnvError) {
      for (const issue of error.message.split('; ')) console.error(`strongbox: ${issue}`);
      process.exit(1);
    }
    throw error;
  }
}

/** The environment of the processes start-up runs, validated whole. */
export function childEnvironment(services: Services, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    NEXT_TELEMETRY_DISABLED: '1',
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    AUTH_SECRET: services.authSecret,
    ...extra,
  };
}

export async function provideServices(dataDir: string): Promise<Services> {
  const started: Service[] = [];
  try {
    const postgres = await providePostgres(dataDir, process.env.DATABASE_URL);
    started.push(postgres);
    const redis = await provideRedis(dataDir, process.env.REDIS_URL);
    started.push(redis);
    let authSecret = process.env.AUTH_SECRET;
    if (!authSecret) {
      authSecret = readState(dataDir).authSecret ?? secret(32);
      writeState(dataDir, { ...readState(dataDir), authSecret });
    }
    return {
      databaseUrl: postgres.url,
      redisUrl: redis.url,
      authSecret,
      stop: async () => {
        for (const service of started.reverse()) await service.stop();
      },
    };
  } catch (error) {
    for (const service of started.reverse()) await service.stop();
    throw error;
  }
}

export async function migrate(databaseUrl: string): Promise<void> {
  const applied = await applyMigrations(databaseUrl);
  console.log(applied.length ? `strongbox: applied migrations ${applied.join(', ')}` : 'strongbox: database schema is up to date');
}

/** The server's `postgres` database, for creating and dropping others (the named one may not exist yet). */
export function maintenanceDatabaseUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}
