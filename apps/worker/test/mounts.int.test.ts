import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestMounts, Runs, type GuestMountRow } from '@strongbox/db';
import { guestfsEnvironment, labUnavailableReason } from '../../../scripts/lab/index.js';
import { MoverProcess } from './faults/fault-fixture.js';
import { cleanup, controller, db, ended, job, labEstate, movers, repository, startJob, tag, waitFor } from './run-fixture.js';
import { killProcessesNaming } from '../src/mover/mounts.js';

const unavailable = labUnavailableReason();
if (unavailable) console.warn(`SKIPPING guest-file mount tests: ${unavailable}`);

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const REPORT = 'quarterly report\n'.repeat(4000);
const CONFIG = 'listen 8080\nworkers 4\n';
const seeded: Record<string, string> = {
  'etc/app.conf': CONFIG,
  'home/ann/report.txt': REPORT,
  'home/ann/notes/todo.md': '- back up\n- restore\n',
};

/** Every file in a tree, relative path → md5. */
function treeMd5s(root: string, at = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(root, at))) {
    const rel = at ? `${at}/${name}` : name;
    const full = join(root, rel);
    if (statSync(full).isDirectory()) Object.assign(out, treeMd5s(root, rel));
    else out[rel] = md5(readFileSync(full));
  }
  return out;
}

/** Sizes and times of every file of the store: a mount must change none of them. */
function storeState(root: string): string {
  const lines: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const s = statSync(full);
      if (s.isDirectory()) walk(full);
      else lines.push(`${full} ${s.size} ${s.mtimeMs}`);
    }
  };
  walk(root);
  return lines.join('\n');
}

async function ready(id: string, timeoutMs = 240_000): Promise<GuestMountRow> {
  const mounts = new GuestMounts(db);
  return waitFor(
    'the mount to be ready',
    async () => {
      const m = await mounts.get(id);
      if (m?.state === 'failed') throw new Error(`the mount failed: ${m.error}`);
      return m?.state === 'ready' ? m : null;
    },
    timeoutMs,
  );
}

const call = (m: GuestMountRow, route: string, token = m.token) =>
  fetch(`${m.serviceUrl}/mounts/${m.id}/${route}`, { headers: { authorization: `Bearer ${token}` } });

// Guest-file mounts on a lab VM whose disks hold real file systems: ext4 on a partitioned
// disk, XFS on LVM on the second. One backup, then the point browsed through the mover's
// file service (as the web relays it), downloads checked byte for byte, every refusal,
// the idle timeout, and a mover killed under a mount whose next start removes the appliance.
describe.skipIf(unavailable)('guest-file mounts', () => {
  let pointId: string;
  let repositoryPath: string;
  let repositoryId: string;
  let ownerId: string;
  const dirs: string[] = [];

  beforeAll(async () => {
    Object.assign(process.env, await guestfsEnvironment());
    const estate = await labEstate([
      {
        name: 'gf',
        disks: [
          { sizeMiB: 64, fs: 'ext4-partitioned', files: seeded },
          { sizeMiB: 320, fs: 'xfs-lvm', files: { 'data/ledger.csv': 'id,amount\n1,100\n' } },
        ],
      },
    ]);
    const repo = await repository({ maxConcurrentTasks: 2 });
    repositoryPath = repo.path;
    repositoryId = repo.id;
    const j = await job({
      connectionId: estate.connectionId,
      repositoryId: repo.id,
      objects: [{ type: 'vm', vmId: estate.vmIds.gf! }],
      schedule: { kind: 'manual' },
    });
    await movers([{ name: 'mv-gf', maxConcurrentTasks: 2 }]);
    await controller();
    const session = await ended(await startJob(j.id), 300_000);
    expect(session.status).toBe('success');
    pointId = (await db.restorePoint.findFirstOrThrow({ where: { sessionId: session.id } })).id;
    ownerId = (await db.user.create({ data: { email: `gf-${tag}@example.test`, name: 'Ann', passwordHash: 'x', role: 'RestoreOperator' } })).id;
  });
  afterAll(async () => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await cleanup();
  });

  it('browses both file systems, downloads a file, a folder as zip and as tar.gz byte for byte, refuses bad paths, and writes nothing to the store', async () => {
    const before = storeState(repositoryPath);
    const mounts = new GuestMounts(db);
    const asked = Date.now();
    const started = await mounts.start({ pointId, ownerId, by: 'ann' });
    if (!started.ok) throw new Error(started.message);
    const m = await ready(started.mount.id);
    const roots = (await (await call(m, 'files?path=/')).json()) as { entries: { name: string; fsType: string; label: string | null; device: string }[] };
    const firstListing = (Date.now() - asked) / 1000;
    console.log(`mount → first listing: ${firstListing.toFixed(1)} s`);
    const ext4 = roots.entries.find((e) => e.fsType === 'ext4');
    const xfs = roots.entries.find((e) => e.fsType === 'xfs');
    expect(ext4, JSON.stringify(roots)).toBeDefined();
    expect(xfs, JSON.stringify(roots)).toBeDefined();
    expect(xfs!.device).toMatch(/^\/dev\/(mapper\/|[^/]+\/)/); // a logical volume

    const home = (await (await call(m, `files?path=/${ext4!.name}/home/ann`)).json()) as { entries: { name: string; type: string; size: number }[] };
    expect(home.entries.map((e) => `${e.type}:${e.name}`)).toEqual(['directory:notes', 'file:report.txt']);
    expect(home.entries[1]!.size).toBe(REPORT.length);
    const ledger = await call(m, `files?path=/${xfs!.name}/data`);
    expect(((await ledger.json()) as { entries: { name: string }[] }).entries.map((e) => e.name)).toEqual(['ledger.csv']);

    const one = await call(m, `download?path=/${ext4!.name}/home/ann/report.txt`);
    expect(one.status).toBe(200);
    expect(one.headers.get('content-disposition')).toContain('report.txt');
    expect(md5(Buffer.from(await one.arrayBuffer()))).toBe(md5(REPORT));

    for (const format of ['zip', 'tar.gz'] as const) {
      const res = await call(m, `download?path=/${ext4!.name}/home&path=/${ext4!.name}/etc/app.conf&format=${format}`);
      expect(res.status).toBe(200);
      const dir = mkdtempSync(join(tmpdir(), 'sb-gf-'));
      dirs.push(dir);
      const file = join(dir, `out.${format}`);
      writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      const out = join(dir, 'x');
      execFileSync('mkdir', ['-p', out]);
      if (format === 'zip') execFileSync('python3', ['-c', 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', file, out]);
      else execFileSync('tar', ['-xzf', file, '-C', out]);
      const got = treeMd5s(out);
      for (const [path, content] of Object.entries(seeded)) expect(got[path], `${format}: ${path} in ${Object.keys(got).join(', ')}`).toBe(md5(content));
    }

    // Refusals: each names the field and changes nothing.
    for (const bad of ['/../etc/passwd', `/${ext4!.name}/home/../../x`, 'home/ann', `/${ext4!.name}/a%00b`, '/nosuchfs/etc']) {
      const res = await call(m, `files?path=${bad.includes('%') ? bad : encodeURIComponent(bad)}`);
      expect(res.status, bad).toBe(400);
      expect(((await res.json()) as { error: { field: string } }).error.field).toBe('path');
    }
    expect((await call(m, `download?path=/${ext4!.name}/home`)).status).toBe(400); // a folder needs a format
    expect((await call(m, 'files?path=/', 'not-the-token')).status).toBe(404);
    expect((await call(m, `files?path=/${ext4!.name}/nope`)).status).toBe(404);

    const scratch = m.scratchDir!;
    expect(existsSync(scratch)).toBe(true);
    const end = await mounts.requestEnd(m.id, 'ann');
    expect(end.ok).toBe(true);
    const session = await ended(m.sessionId, 60_000);
    expect(session.status).toBe('success');
    expect((await mounts.get(m.id))!).toMatchObject({ state: 'stopped', endReason: 'ended by ann' });
    // The sessions list and page read its summary (a shape of its own).
    expect((await new Runs(db).get(m.sessionId))!.summary).toMatchObject({ kind: 'mount', reason: 'ended by ann' });
    expect((await new Runs(db).list({}, 1, 50)).rows.some((x) => x.id === m.sessionId)).toBe(true);
    expect(existsSync(scratch)).toBe(false);
    expect(await killProcessesNaming(scratch)).toBe(0);
    expect(storeState(repositoryPath)).toBe(before);
  }, 400_000);

  it('ends a mount idle past its timeout and leaves nothing', async () => {
    const mounts = new GuestMounts(db);
    const started = await mounts.start({ pointId, ownerId, by: 'ann', idleTimeoutMs: 4000 });
    if (!started.ok) throw new Error(started.message);
    // It may be ready for less time than a poll takes: its session's end is what is waited for.
    const session = await ended(started.mount.sessionId, 300_000);
    const m = (await mounts.get(started.mount.id))!;
    expect(session.status).toBe('success');
    expect(m.readyAt).not.toBeNull();
    expect(m.endReason).toMatch(/^idle/);
    expect(existsSync(m.scratchDir!)).toBe(false);
    expect(await killProcessesNaming(m.scratchDir!)).toBe(0);
  }, 400_000);

  it('a mover killed under a mount: its next start removes the appliance and the folder, and the mount ends', async () => {
    const name = `mv-gf-proc-${tag}`;
    const proc = new MoverProcess(name);
    const moverId = await proc.start();
    // Only the process mover sees work now; it takes mounts once it has looked for the stores and opened its file service.
    await db.mover.updateMany({ where: { id: { not: moverId } }, data: { enabled: false } });
    await waitFor('the process mover to see the store', () =>
      db.mover.findFirst({ where: { id: moverId, fileServiceUrl: { not: null }, repositoryIds: { has: repositoryId } } }),
    );
    try {
      const mounts = new GuestMounts(db);
      const started = await mounts.start({ pointId, ownerId, by: 'ann' });
      if (!started.ok) throw new Error(started.message);
      expect(started.mount.moverId).toBe(moverId);
      const m = await ready(started.mount.id);
      await proc.kill();
      // Its appliance outlives it (QEMU is in its own process group).
      expect(readdirSync(m.scratchDir!).length).toBeGreaterThan(0);
      await proc.start();
      const session = await ended(m.sessionId, 60_000);
      expect(session.status).toBe('interrupted');
      await waitFor('the folder to go', async () => !existsSync(m.scratchDir!), 30_000);
      expect(await killProcessesNaming(m.scratchDir!)).toBe(0);
    } finally {
      await proc.stop();
      await db.mover.updateMany({ data: { enabled: true } });
    }
  }, 400_000);
});
