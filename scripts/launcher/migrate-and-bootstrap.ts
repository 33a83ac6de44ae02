// For deployments that provide their own PostgreSQL and Redis (docker/compose.yaml): apply
// migrations and create the first administrator and default repository, then exit.
import { loadEnvOrExit } from '@strongbox/config';
import { bootstrap, createPrismaClient } from '@strongbox/db';
import { migrate } from './provision.js';

const env = loadEnvOrExit();
await migrate(env.DATABASE_URL);
const db = createPrismaClient(env.DATABASE_URL);
const result = await bootstrap(db, {
  adminEmail: env.STRONGBOX_ADMIN_EMAIL,
  adminPassword: env.STRONGBOX_ADMIN_PASSWORD,
  repositoryPath: env.repositoryPath,
});
await db.$disconnect();
if (result.admin.generatedPassword) {
  console.log(`first administrator ${result.admin.email}, password (shown once): ${result.admin.generatedPassword}`);
}
console.log(`default repository: ${result.repository.path}`);
process.exit(0);
