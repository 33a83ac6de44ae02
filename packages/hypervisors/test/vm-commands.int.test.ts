import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuestConsole } from '../../../scripts/lab/index.js';
import { lab, labVm, removeLabVm, unavailable } from './lab-fixture.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
// backup:vm and restore:vm drive the repository and pipeline of issue 3; until they are
// merged beside this package there is nothing to run them against.
const missing = ['packages/pipeline/src/index.ts', 'packages/repository/src/index.ts'].filter((p) => !existsSync(join(root, p)));
if (missing.length > 0) console.warn(`SKIPPING backup:vm / restore:vm tests: ${missing.join(', ')} not in this tree (issue 3)`);

const name = `sblab-cmd-${process.pid}`;

function command(script: string, args: string[]): string {
  return execFileSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', script), ...args], { cwd: root, encoding: 'utf8' });
}

describe.skipIf(unavailable || missing.length > 0)('pnpm backup:vm and restore:disk on a lab VM', () => {
  let guest: GuestConsole;
  const repo = mkdtempSync(join(tmpdir(), 'strongbox-cmd-repo-'));
  const work = mkdtempSync(join(tmpdir(), 'strongbox-cmd-work-'));

  beforeAll(async () => {
    await lab();
    ({ guest } = await labVm({ name, disks: [{ sizeMiB: 64 }, { sizeMiB: 32 }] }));
  });
  afterAll(async () => {
    guest?.close();
    await removeLabVm(name);
    rmSync(repo, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('backs up full then incremental, and the latest point restores to what the guest reads', async () => {
    const full = command('backup-vm.ts', [name, '--repo', repo, '--work-dir', work]);
    expect(full).toMatch(/full point/);
    await guest.write('vdb', 2048, 1024, 'random');
    const inc = command('backup-vm.ts', [name, '--repo', repo, '--work-dir', work]);
    expect(inc).toMatch(/incremental point/);
    expect(inc).toMatch(/vdb: changed blocks, read 1\.0 MiB/);
    const expected = await guest.md5('vdb', 0, 32 * 1024);

    // restore:vm restores through a running Strongbox now (apps/worker/test/restores.int.test.ts runs it); the point is checked offline.
    const { Repository } = await import('../../repository/src/index.js');
    const latest = (await (await Repository.open(repo)).listPoints()).at(-1)!;
    expect(latest.kind).toBe('incremental');
    const out = join(work, 'vdb.raw');
    expect(command('restore-disk.ts', ['--repo', repo, '--point', latest.id, '--disk', 'vdb', '--out', out, '--md5']).trim()).toBe(expected);
  });
});
