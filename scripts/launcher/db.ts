// `pnpm db:migrate` and `pnpm db:diff <name>`: against DATABASE_URL, or else the private
// cluster that `npm start` keeps in .data (which must be running).
import { messageOf } from '@strongbox/core';
import { relative } from 'node:path';
import { applyMigrations, diffMigration, MigrationError } from '@strongbox/db/migrate';
import { checkEnvOrExit, ROOT } from './provision.js';
import { readState } from './state.js';

const given = checkEnvOrExit();
const [command, name] = process.argv.slice(2);

function databaseUrl(): string {
  if (given.DATABASE_URL) return given.DATABASE_URL;
  const pg = readState(given.dataDir).postgres;
  if (!pg) {
    console.error('strongbox: set DATABASE_URL, or run `npm start` once to create the private database in .data');
    process.exit(1);
  }
  return `postgresql://strongbox:${encodeURIComponent(pg.password)}@127.0.0.1:${pg.port}/strongbox`;
}

try {
  if (command === 'migrate') {
    const applied = await applyMigrations(databaseUrl());
    console.log(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'database is up to date');
  } else if (command === 'diff' && name) {
    const folder = await diffMigration(databaseUrl(), name);
    console.log(folder ? `wrote ${relative(ROOT, folder)}/migration.sql` : 'no schema changes');
  } else {
    console.error('usage: pnpm db:migrate | pnpm db:diff <name>   (name: lower-case letters, digits and _)');
    process.exit(2);
  }
} catch (error) {
  const message = messageOf(error);
  console.error(`strongbox: ${error instanceof MigrationError ? message : `cannot reach the database: ${message}`}`);
  process.exit(1);
}
// The schema engine keeps timers alive after it is freed; a CLI is done here.
process.exit(0);
