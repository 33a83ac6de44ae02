#!/usr/bin/env node
// Type-checks every TypeScript project of the workspace (each has its own tsconfig: the
// web app resolves like a bundler, the rest like Node).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const projects = [...['apps', 'packages'].flatMap((dir) => readdirSync(join(root, dir)).map((name) => join(dir, name))), 'scripts', 'playwright'].filter((p) =>
  existsSync(join(root, p, 'tsconfig.json')),
);

let failed = 0;
for (const project of projects) {
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', project], { cwd: root, stdio: 'inherit' });
  console.log(`${r.status === 0 ? 'ok  ' : 'FAIL'} ${project}`);
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
