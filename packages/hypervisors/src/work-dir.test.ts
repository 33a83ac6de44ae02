import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findStaleJobs, JobDir, scratchLeftovers } from './work-dir.js';

const dirs: string[] = [];
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'strongbox-workdir-')); // mkdtemp makes it 0700
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const init = { uri: 'qemu:///system', domain: 'u-1', kind: 'running' as const, checkpoint: 'strongbox-x', base: null };

describe('JobDir', () => {
  it('opens a 0700 work dir for search, so QEMU (another user) can reach its socket', async () => {
    const work = fresh();
    await JobDir.create(work, init, null);
    expect(statSync(work).mode & 0o011).toBe(0o011);
  });

  it('is live while its process lives, and stale once the recorded owner is gone', async () => {
    const work = fresh();
    const job = await JobDir.create(work, init, null);
    expect(await findStaleJobs(work)).toEqual([]);
    await job.update({ pidStart: job.current.pidStart + 1 }); // as if the pid had been recycled
    const stale = await findStaleJobs(work);
    expect(stale.map((s) => s.path)).toEqual([job.path]);
    expect(stale[0]!.state).toMatchObject({ kind: 'running', checkpoint: 'strongbox-x' });
    await job.remove();
    expect(readdirSync(work)).toEqual([]);
  });

  it('takes a job dir without a readable state file for leftovers to remove', async () => {
    const work = fresh();
    const job = await JobDir.create(work, init, null);
    writeFileSync(`${job.path}.state.json`, '{ torn');
    expect(await findStaleJobs(work)).toEqual([{ path: job.path, state: null }]);
    expect(existsSync(job.path)).toBe(true);
  });
});

describe('scratchLeftovers', () => {
  it('lists files under the work dir, not its empty folders, and not guest-file mounts (which live while their user browses)', () => {
    const work = fresh();
    mkdirSync(join(work, 'jobs/a'), { recursive: true });
    mkdirSync(join(work, 'instant/empty'), { recursive: true });
    mkdirSync(join(work, 'mounts/m1/appliance'), { recursive: true });
    writeFileSync(join(work, 'jobs/a/scratch.qcow2'), '');
    writeFileSync(join(work, 'mounts/m1/nbd.sock'), '');
    expect(scratchLeftovers(work)).toEqual(['jobs/a/scratch.qcow2']);
  });
});
