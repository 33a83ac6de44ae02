import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LaunchError, run } from './system.js';

const SOURCES = ['apps/web', 'packages', 'prisma/schema.prisma'];
// next-env.d.ts is written by `next build` itself: counting it made every start rebuild.
const SKIP = new Set(['node_modules', '.next', 'generated', 'test', 'next-env.d.ts']);

function walk(root: string, path: string, hash: ReturnType<typeof createHash>) {
  const stat = statSync(path);
  if (stat.isDirectory()) {
    for (const entry of readdirSync(path).sort()) if (!SKIP.has(entry)) walk(root, join(path, entry), hash);
  } else {
    hash.update(`${relative(root, path)}:${stat.size}:${stat.mtimeMs}\n`);
  }
}

/** Builds the console when its sources changed since the last build (a second start is quick). */
export function buildWebIfStale(root: string, env: NodeJS.ProcessEnv): void {
  const hash = createHash('sha256');
  for (const source of SOURCES) if (existsSync(join(root, source))) walk(root, join(root, source), hash);
  const digest = hash.digest('hex');
  const stamp = join(root, 'apps/web/.next/strongbox-sources');
  if (existsSync(join(root, 'apps/web/.next/BUILD_ID')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return;
  console.log('strongbox: building the console (next build); this takes a minute the first time');
  const r = run(process.execPath, [join(root, 'apps/web/node_modules/next/dist/bin/next'), 'build', '--webpack'], {
    cwd: join(root, 'apps/web'),
    env: { ...env, NEXT_TELEMETRY_DISABLED: '1' },
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new LaunchError('the console build failed (see above)');
  writeFileSync(stamp, digest);
}
