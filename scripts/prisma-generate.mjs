#!/usr/bin/env node
// Generates the Prisma client offline. The Prisma CLI wants to download a native schema
// engine even for `generate`, which uses WebAssembly only; pointing
// PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips that download
// (see ../shared/notes/verified-facts.md). A machine that has the engine keeps its own.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'node_modules/prisma/build/index.js');
if (!existsSync(cli)) {
  // A partial install (e.g. a filtered one) may lack the CLI.
  console.log('prisma-generate: the prisma CLI is not installed; skipped');
  process.exit(0);
}
const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = '/bin/true';
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
// The schema needs no connection to generate; prisma.config.ts reads DATABASE_URL lazily.
const result = spawnSync(process.execPath, [cli, 'generate'], { cwd: root, env, stdio: 'inherit' });
process.exit(result.status ?? 1);
