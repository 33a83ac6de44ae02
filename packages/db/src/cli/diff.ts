import { relative } from 'node:path';
import { loadEnvOrExit } from '@strongbox/config';
import { diffMigration } from '../migrate.js';

const name = process.argv[2];
if (!name) {
  console.error('usage: pnpm db:diff <name>   (lower-case letters, digits and _)');
  process.exit(2);
}
const env = loadEnvOrExit();
const folder = await diffMigration(env.DATABASE_URL, name);
console.log(folder ? `wrote ${relative(process.cwd(), folder)}/migration.sql` : 'no schema changes');
process.exit(0);
