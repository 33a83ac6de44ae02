import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/tsx/dist/cli.mjs');

function start(env: Record<string, string>) {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'strongbox-start-')), 'data');
  const r = spawnSync(process.execPath, [tsx, join(root, 'scripts/launcher/start.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, STRONGBOX_DATA_DIR: dataDir, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { ...r, dataDir };
}

describe('start-up with bad configuration', () => {
  it.each([
    ['DATABASE_URL', 'localhost:5432/strongbox', 'must be a postgresql:// URL'],
    ['DATABASE_URL', 'mysql://db/strongbox', 'must be a postgresql:// URL'],
    ['REDIS_URL', 'http://127.0.0.1:6379', 'must be a redis://'],
    ['PORT', 'eighty', 'PORT'],
  ])('%s=%s stops with one clear line and creates nothing', (variable, value, message) => {
    const r = start({ [variable]: value });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(variable);
    expect(lines[0]).toContain(message);
    expect(existsSync(r.dataDir)).toBe(false);
  });
});
