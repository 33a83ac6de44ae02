import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMigrations, diffMigration, MIGRATIONS_DIR, MigrationError, SCHEMA_PATH } from '../src/migrate.js';
import { dropDatabase, scratchDatabaseUrl, tableNames } from './helpers.js';

const made: string[] = [];
const scratch = (tag: string) => {
  const db = scratchDatabaseUrl(tag);
  made.push(db.name);
  return db.url;
};
afterAll(async () => {
  for (const name of made) await dropDatabase(name);
});

describe('applyMigrations', () => {
  it('creates the database, applies every migration once, then nothing', async () => {
    const url = scratch('apply');
    const first = await applyMigrations(url);
    expect(first.length).toBeGreaterThan(0);
    expect(await tableNames(url)).toEqual(expect.arrayContaining(['User', 'ApiToken', 'BackupJob', '_prisma_migrations']));
    expect(await applyMigrations(url)).toEqual([]);
  });
});

describe('diffMigration', () => {
  it('writes nothing when the schema matches the last migration', async () => {
    expect(await diffMigration(scratch('noop'), 'nothing_changed')).toBeNull();
  });

  it('writes a migration for a schema change that applyMigrations then applies', async () => {
    const work = await mkdtemp(join(tmpdir(), 'strongbox-diff-'));
    try {
      const dir = join(work, 'migrations');
      await cp(MIGRATIONS_DIR, dir, { recursive: true });
      const schemaPath = join(work, 'schema.prisma');
      const schema = await readFile(SCHEMA_PATH, 'utf8');
      await writeFile(schemaPath, `${schema}\nmodel DiffProbe {\n  id   Int    @id @default(autoincrement())\n  note String\n}\n`);
      const url = scratch('diff');
      await applyMigrations(url, { dir, schemaPath });

      const folder = await diffMigration(url, 'add_diff_probe', { dir, schemaPath, now: new Date('2030-01-02T03:04:05Z') });
      expect(folder).toMatch(/20300102030405_add_diff_probe$/);
      const sql = await readFile(join(folder!, 'migration.sql'), 'utf8');
      expect(sql).toContain('CREATE TABLE "DiffProbe"');
      expect(sql).not.toContain('CREATE TABLE "User"');

      expect(await applyMigrations(url, { dir, schemaPath })).toEqual(['20300102030405_add_diff_probe']);
      expect(await tableNames(url)).toContain('DiffProbe');
      // The new migration carries its schema snapshot: diffing again finds nothing.
      expect(await diffMigration(url, 'again', { dir, schemaPath })).toBeNull();
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('refuses a bad migration name and writes nothing', async () => {
    const before = await readdir(MIGRATIONS_DIR);
    await expect(diffMigration(scratch('badname'), 'Add Table!')).rejects.toThrow(MigrationError);
    expect(await readdir(MIGRATIONS_DIR)).toEqual(before);
  });
});
