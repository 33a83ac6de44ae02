// Configuration for the Prisma CLI where it is available (e.g. `prisma migrate deploy`
// on a machine that can download its engine). Strongbox itself applies migrations with
// the WebAssembly engine (packages/db/src/migrate.ts) and never needs the CLI at run time.
// Tooling config reads DATABASE_URL directly: the CLI loads this file, not our env module.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/strongbox' },
});
