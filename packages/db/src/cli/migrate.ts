import { loadEnvOrExit } from '@strongbox/config';
import { applyMigrations } from '../migrate.js';

const env = loadEnvOrExit();
const applied = await applyMigrations(env.DATABASE_URL);
console.log(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'database is up to date');
process.exit(0);
