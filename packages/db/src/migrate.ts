import { readdir, readFile, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine as SchemaEngineType } from '@prisma/schema-engine-wasm';
import pg from 'pg';
import { CodedError } from '@strongbox/core';

/**
 * Migrations on Prisma's WebAssembly schema engine: no native engine download, and the
 * same `_prisma_migrations` bookkeeping as `prisma migrate deploy`, so a machine with the
 * normal CLI stays compatible (see ../shared/notes/verified-facts.md).
 */

const here = dirname(fileURLToPath(import.meta.url));
export const PRISMA_DIR = resolve(here, '../../../prisma');
export const MIGRATIONS_DIR = join(PRISMA_DIR, 'migrations');
export const SCHEMA_PATH = join(PRISMA_DIR, 'schema.prisma');
const LOCKFILE = 'migration_lock.toml';
const FILTERS = { externalTables: [], externalEnums: [] };

type WasmExports = Record<string, unknown>;
// @types/node 20 does not declare the WebAssembly global; this is the part used here.
const { WebAssembly: wasm } = globalThis as unknown as {
  WebAssembly: {
    instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: WasmExports } }>;
  };
};

type EngineModule = {
  __wbg_set_wasm(exports: WasmExports): void;
  SchemaEngine: typeof SchemaEngineType;
};

let enginePromise: Promise<EngineModule> | undefined;

/** The package imports its .wasm bundler-style; Node needs it instantiated by hand. */
function loadEngineModule(): Promise<EngineModule> {
  enginePromise ??= (async () => {
    const require = createRequire(import.meta.url);
    // The package exports only its entry points; resolve the folder through the bindings.
    const pkgDir = dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
    const bindings = (await import(pathToFileURL(join(pkgDir, 'schema_engine_bg.js')).href)) as EngineModule & Record<string, unknown>;
    const bytes = await readFile(join(pkgDir, 'schema_engine_bg.wasm'));
    const { instance } = await wasm.instantiate(bytes, { './schema_engine_bg.js': bindings });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bindings;
  })();
  return enginePromise;
}

export class MigrationError extends CodedError<'MIGRATION_FAILED'> {
  constructor(message: string) {
    super('MIGRATION_FAILED', message);
  }
}

async function withEngine<T>(databaseUrl: string, schema: string, fn: (engine: SchemaEngineType) => Promise<T>): Promise<T> {
  const { SchemaEngine } = await loadEngineModule();
  const opened: { dispose(): Promise<void> }[] = [];
  // The engine connects at construction even for a diff between two schemas.
  const base = new PrismaPg(poolConfig(databaseUrl));
  // The engine does not close its main connection on free() (it does drop and close the
  // shadow database); a connection left open keeps migrate's advisory lock, and the next
  // run waits 10 s for it. Track and dispose the main ones.
  const tracked = {
    provider: base.provider,
    adapterName: base.adapterName,
    connect: async () => remember(await base.connect()),
    connectToShadowDb: () => base.connectToShadowDb(),
  };
  function remember<A extends { dispose(): Promise<void> }>(adapter: A): A {
    opened.push(adapter);
    return adapter;
  }
  const factory = bindMigrationAwareSqlAdapterFactory(tracked as unknown as PrismaPg);
  const engine = await SchemaEngine.new(
    { datamodels: [[SCHEMA_PATH, schema]] },
    // The engine's own log lines are tracing output; errors come back as rejections.
    () => {},
    factory,
  );
  try {
    return await fn(engine);
  } catch (error) {
    throw new MigrationError(engineMessage(error));
  } finally {
    engine.free();
    await Promise.all(opened.map((adapter) => adapter.dispose()));
  }
}

/**
 * Connection fields rather than a connection string: the adapter's shadow database pool
 * spreads this config and overrides `database`, which a connection string would win over.
 */
function poolConfig(databaseUrl: string): pg.PoolConfig {
  const url = new URL(databaseUrl);
  const ssl = url.searchParams.get('sslmode');
  return {
    host: decodeURIComponent(url.hostname) || url.searchParams.get('host') || undefined,
    port: url.port ? Number(url.port) : undefined,
    user: decodeURIComponent(url.username) || undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database: decodeURIComponent(url.pathname.replace(/^\//, '')),
    ssl: ssl && ssl !== 'disable' ? { rejectUnauthorized: ssl === 'verify-full' } : undefined,
    // Idle connections of the engine's pools close quickly so that a CLI exits at once.
    idleTimeoutMillis: 500,
  };
}

function engineMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error && 'message' in error) return String(error.message);
  return String(error);
}

export async function loadMigrations(dir = MIGRATIONS_DIR) {
  const entries = existsSync(dir) ? await readdir(dir, { withFileTypes: true }) : [];
  const names = entries
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'migration.sql')))
    .map((e) => e.name)
    .sort();
  const migrationDirectories = await Promise.all(
    names.map(async (name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: { tag: 'ok' as const, value: await readFile(join(dir, name, 'migration.sql'), 'utf8') },
      },
    })),
  );
  const lockPath = join(dir, LOCKFILE);
  return {
    baseDir: dir,
    lockfile: {
      path: LOCKFILE,
      content: existsSync(lockPath) ? await readFile(lockPath, 'utf8') : null,
    },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

/** Creates the database named in the URL when it does not exist yet. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new MigrationError('DATABASE_URL names no database');
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

/** Applies pending migrations; returns the names applied now. */
export type MigrationPaths = { dir?: string; schemaPath?: string };

export async function applyMigrations(databaseUrl: string, { dir = MIGRATIONS_DIR, schemaPath = SCHEMA_PATH }: MigrationPaths = {}): Promise<string[]> {
  await ensureDatabase(databaseUrl);
  const migrationsList = await loadMigrations(dir);
  const schema = await readFile(schemaPath, 'utf8');
  return withEngine(databaseUrl, schema, async (engine) => {
    const out = await engine.applyMigrations({ migrationsList, filters: FILTERS });
    return out.appliedMigrationNames;
  });
}

/** Copy of the schema that each migration leaves beside its SQL: the next diff's start. */
const SNAPSHOT = 'schema.prisma';

/**
 * Writes a new migration from the difference between the schema as of the latest
 * migration (its snapshot) and the schema now. Returns its folder, or null when nothing
 * changed. Not by replaying migrations on a shadow database: that needs the engine to
 * describe a live schema, which it cannot through the pg adapter (it fails on catalog
 * columns of type "char"). The engine still connects to `databaseUrl` at construction.
 */
export async function diffMigration(
  databaseUrl: string,
  name: string,
  { dir = MIGRATIONS_DIR, schemaPath = SCHEMA_PATH, now = new Date() }: MigrationPaths & { now?: Date } = {},
): Promise<string | null> {
  if (!/^[a-z0-9_]+$/.test(name)) {
    throw new MigrationError(`migration name "${name}" must be lower-case letters, digits and _`);
  }
  await ensureDatabase(databaseUrl);
  const migrationsList = await loadMigrations(dir);
  const last = migrationsList.migrationDirectories.at(-1);
  const snapshotPath = last ? join(dir, last.path, SNAPSHOT) : null;
  if (snapshotPath && !existsSync(snapshotPath)) {
    throw new MigrationError(`${snapshotPath} is missing: cannot tell what the last migration left`);
  }
  const before = snapshotPath ? await readFile(snapshotPath, 'utf8') : null;
  const schema = await readFile(schemaPath, 'utf8');
  const sql = await withEngine(databaseUrl, schema, async (engine) => {
    const result = await engine.diff({
      from: before === null ? { tag: 'empty' } : { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: before }] },
      to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schema }] },
      script: true,
      exitCode: null,
      filters: FILTERS,
    } as Parameters<SchemaEngineType['diff']>[0]);
    return result.stdout ?? '';
  });
  if (!/^\s*(CREATE|ALTER|DROP|INSERT|UPDATE|DELETE|COMMENT)/im.test(sql)) return null;
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const folder = join(dir, `${stamp}_${name}`);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'migration.sql'), sql);
  await writeFile(join(folder, SNAPSHOT), schema);
  const lockPath = join(dir, LOCKFILE);
  if (!existsSync(lockPath)) {
    await writeFile(
      lockPath,
      '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
    );
  }
  return folder;
}
