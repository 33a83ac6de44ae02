import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parseEnv } from '@strongbox/config';
import { createPrismaClient, type PrismaClient } from '../src/index.js';
import { applyMigrations } from '../src/migrate.js';

/** The run's database (provisioned and migrated by scripts/launcher/test.ts). */
export const env = () => parseEnv(process.env);

/** A URL on the same server naming a fresh database; dropped by `dropDatabase`. */
export function scratchDatabaseUrl(tag: string): { url: string; name: string } {
  const url = new URL(env().DATABASE_URL);
  const name = `${url.pathname.slice(1)}_${tag}_${randomBytes(3).toString('hex')}`;
  url.pathname = `/${name}`;
  return { url: url.toString(), name };
}

export async function dropDatabase(name: string): Promise<void> {
  const url = new URL(env().DATABASE_URL);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export async function tableNames(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    return r.rows.map((row) => row.tablename).sort();
  } finally {
    await client.end();
  }
}

/**
 * A database of its own, migrated, for tests that count rows across the whole database
 * (administrators, waiting units, movers) and must not see other tests' rows.
 */
export async function scratchDatabase(tag: string): Promise<{ db: PrismaClient; drop: () => Promise<void> }> {
  const { url, name } = scratchDatabaseUrl(tag);
  await applyMigrations(url);
  const db = createPrismaClient(url);
  return {
    db,
    drop: async () => {
      await db.$disconnect();
      await dropDatabase(name);
    },
  };
}
