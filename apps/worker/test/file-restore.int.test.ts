import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestFileIndex, GuestMounts, Runs, type GuestMountRow } from '@strongbox/db';
import { GuestAgentFiles, Virsh } from '@strongbox/hypervisors';
import { guestfsEnvironment, labUnavailableReason, type GuestConsole } from '../../../scripts/lab/index.js';
import { killProcessesNaming, mountScratch, open } from '../src/mover/mounts.js';
import { cleanup, controller, db, ended, job, labEstate, movers, repository, startJob, tag, waitFor } from './run-fixture.js';

const unavailable = labUnavailableReason();
if (unavailable) console.warn(`SKIPPING guest file restore tests: ${unavailable}`);

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const REPORT = 'quarterly report\n'.repeat(4000);
const CONFIG = 'listen 8080\nworkers 4\n';
const TODO = '- back up\n- restore\n';

// Guest file restore on a lab VM with qemu-guest-agent: one backup of an ext4 disk, then the
// guest loses one file and changes another; both come back from the point into the running
// VM — overwriting, then keeping both — read back with md5 inside the guest, with their
// owner, mode and time; once through the file browser's appliance, once through one of the
// restore's own. Nothing is left: no temporary file in the guest, no appliance, no folder.
describe.skipIf(unavailable)('guest file restore into the running VM', () => {
  let pointId: string;
  let ownerId: string;
  let guest: GuestConsole;
  let vmName: string;
  let mount: GuestMountRow;
  let key: string;
  let agent: GuestAgentFiles;
  let repositoryId: string;

  beforeAll(async () => {
    Object.assign(process.env, await guestfsEnvironment());
    const estate = await labEstate([
      {
        name: 'fr',
        agent: true,
        disks: [
          { sizeMiB: 64 },
          { sizeMiB: 64, fs: 'ext4-partitioned', files: { 'etc/app.conf': CONFIG, 'home/ann/report.txt': REPORT, 'home/ann/notes/todo.md': TODO } },
        ],
      },
    ]);
    guest = estate.guests.fr!.guest;
    vmName = `sblab-fr-${tag}`;
    const repo = await repository({ maxConcurrentTasks: 2 });
    const j = await job({
      connectionId: estate.connectionId,
      repositoryId: repo.id,
      objects: [{ type: 'vm', vmId: estate.vmIds.fr! }],
      schedule: { kind: 'manual' },
      options: { indexGuestFiles: true },
    });
    repositoryId = repo.id;
    await movers([{ name: 'mv-fr', maxConcurrentTasks: 2 }]);
    await controller();
    const session = await ended(await startJob(j.id), 300_000);
    expect(session.status).toBe('success');
    pointId = (await db.restorePoint.findFirstOrThrow({ where: { sessionId: session.id } })).id;
    ownerId = (await db.user.create({ data: { email: `fr-${tag}@example.test`, name: 'Ann', passwordHash: 'x', role: 'RestoreOperator' } })).id;
    const started = await new GuestMounts(db).start({ pointId, ownerId, by: 'ann' });
    if (!started.ok) throw new Error(started.message);
    mount = await waitFor(
      'the mount to be ready',
      async () => {
        const m = await new GuestMounts(db).get(started.mount.id);
        if (m?.state === 'failed') throw new Error(`the mount failed: ${m.error}`);
        return m?.state === 'ready' ? m : null;
      },
      240_000,
    );
    key = mount.filesystems.find((f) => f.type === 'ext4')!.key;
    agent = await GuestAgentFiles.open(new Virsh('qemu:///system'), vmName);
  }, 900_000);

  afterAll(async () => {
    await cleanup();
  });

  const restore = async (paths: string[], mode: 'overwrite' | 'keep-both') => {
    const started = await new Runs(db).startRestore({ request: { kind: 'files', pointId, mountId: mount.id, paths, mode }, triggeredBy: 'ann' });
    if (!started.started) throw new Error(`${started.refusal.field}: ${started.refusal.message}`);
    return ended(started.sessionId, 300_000);
  };
  const logOf = async (sessionId: string) => (await db.sessionLog.findMany({ where: { sessionId }, orderBy: { id: 'asc' } })).map((l) => l.message);
  const statInGuest = async (path: string) => (await agent.exec('stat', ['-c', '%u %g %a %Y', path]))!.stdout;

  it('indexes the point after its backup (option "Index guest files"): every entry in PostgreSQL, found by name and by pattern, versions per point, gone with the point', async () => {
    const index = new GuestFileIndex(db, process.env.DATABASE_URL!);
    const session = await waitFor('the indexing after the backup', () =>
      db.session.findFirst({ where: { kind: 'maintenance', repositoryId, name: { startsWith: 'Guest file indexing' }, endedAt: { not: null } } }),
    );
    const log = await logOf(session.id);
    expect(session.status, log.join('\n')).toBe('success');
    // ext4 holds etc, etc/app.conf, home, home/ann, home/ann/report.txt, home/ann/notes, home/ann/notes/todo.md, lost+found.
    expect(session.summary).toMatchObject({ pointsIndexed: 1, pointsFailed: 0 });
    const summary = session.summary as { filesIndexed: number; durationMs: number };
    expect(summary.filesIndexed).toBeGreaterThanOrEqual(8);
    expect(log.some((l) => /entries of 1 point\(s\) indexed in \d+\.\d s/.test(l))).toBe(true);
    expect(await db.guestIndex.findUniqueOrThrow({ where: { pointId } })).toMatchObject({ state: 'indexed', files: summary.filesIndexed });

    const byName = await index.search({ pattern: 'REPORT', limit: 50 });
    expect(byName.map((h) => `${h.fs}${h.path}`)).toEqual([`${key}/home/ann/report.txt`]);
    expect(byName[0]).toMatchObject({ pointId, vmName, type: 'f', size: REPORT.length });
    expect((await index.search({ pattern: '*.md', limit: 50 })).map((h) => h.path)).toEqual(['/home/ann/notes/todo.md']);
    expect(await index.search({ pattern: 'app.con?', limit: 50 })).toHaveLength(1);
    expect(await index.search({ pattern: 'report', from: new Date(Date.now() + 60_000), limit: 50 })).toEqual([]);
    expect(await index.search({ pattern: 'report', vmId: '00000000-0000-4000-8000-000000000000', limit: 50 })).toEqual([]);
    const versions = await index.versions({
      vmId: (await db.restorePoint.findUniqueOrThrow({ where: { id: pointId } })).vmId,
      vmName,
      fs: key,
      path: '/home/ann/report.txt',
    });
    expect(versions).toEqual([expect.objectContaining({ pointId, size: REPORT.length })]);
    // Nothing waits to be indexed any more: a second indexing finds no point.
    expect(await index.pending(repositoryId)).toEqual([]);
  }, 400_000);

  it('brings back a deleted file and a changed one, overwriting, with owner, mode and time; md5 read inside the guest', async () => {
    await guest.deleteFile('vdb', 'home/ann/report.txt');
    await guest.writeFile('vdb', 'etc/app.conf', 4, 'CHANGED');
    expect(await agent.exists('/mnt/vdb1/home/ann/report.txt')).toBe(false);
    const session = await restore([`/${key}/home/ann`, `/${key}/etc/app.conf`], 'overwrite');
    const log = await logOf(session.id);
    expect(session.status, log.join('\n')).toBe('success');
    expect(await guest.md5File('vdb', 'home/ann/report.txt')).toBe(md5(REPORT));
    expect(await guest.md5File('vdb', 'home/ann/notes/todo.md')).toBe(md5(TODO));
    expect(await guest.md5File('vdb', 'etc/app.conf')).toBe(md5(CONFIG));
    expect(session.summary).toMatchObject({
      restore: 'files',
      target: vmName,
      files: 3,
      folders: 2,
      keptBoth: 0,
      skipped: 0,
      bytesWritten: REPORT.length + TODO.length + CONFIG.length,
    });
    // A log line per file, and where the file system is mounted in the guest.
    expect(log).toContain(`${vmName} mounts ${key} at /mnt/vdb1`);
    expect(log.some((l) => l.startsWith('/mnt/vdb1/home/ann/report.txt: ') && l.includes('where it was'))).toBe(true);
    expect(log.some((l) => l.startsWith('/mnt/vdb1/etc/app.conf: ') && l.includes('over the guest’s file'))).toBe(true);
    // Owner, mode and time as the point has them (the browser's listing of the same file).
    const listed = (await (
      await fetch(`${mount.serviceUrl}/mounts/${mount.id}/files?path=/${key}/home/ann`, { headers: { authorization: `Bearer ${mount.token}` } })
    ).json()) as {
      entries: { name: string; uid: number; gid: number; mode: number; mtime: string }[];
    };
    const e = listed.entries.find((x) => x.name === 'report.txt')!;
    expect(await statInGuest('/mnt/vdb1/home/ann/report.txt')).toBe(
      `${e.uid} ${e.gid} ${(e.mode & 0o7777).toString(8)} ${Math.floor(Date.parse(e.mtime) / 1000)}`,
    );
    // The task's figures: every byte, as a disk's.
    expect(Number(session.tasks[0]!.bytesWritten)).toBe(REPORT.length + TODO.length + CONFIG.length);
    // No temporary file left beside the restored ones.
    expect((await agent.exec('ls', ['-a', '/mnt/vdb1/etc', '/mnt/vdb1/home/ann']))!.stdout).not.toContain('strongbox');
  }, 400_000);

  it("keeps both: the guest's file stays as it is, the point's copy lands beside it as .restored-<time>", async () => {
    await guest.writeFile('vdb', 'etc/app.conf', 4, 'LOCALEDIT');
    const local = await guest.md5File('vdb', 'etc/app.conf');
    // Not through the browser's appliance this time: the mover starts one of its own on the point.
    const live = open.get(mount.id)!;
    open.delete(mount.id);
    let session;
    try {
      session = await restore([`/${key}/etc/app.conf`], 'keep-both');
    } finally {
      open.set(mount.id, live);
    }
    const log = await logOf(session.id);
    expect(session.status, log.join('\n')).toBe('success');
    expect(log).toContain('the file browser is not open on this mover: starting an appliance of its own on the point');
    const line = log.find((l) => l.startsWith('/mnt/vdb1/etc/app.conf: '))!;
    const copy = /as (app\.conf\.restored-\d{8}T\d{6}Z)/.exec(line)?.[1];
    expect(copy, line).toBeDefined();
    expect(await guest.md5File('vdb', `etc/${copy}`)).toBe(md5(CONFIG));
    expect(await guest.md5File('vdb', 'etc/app.conf')).toBe(local);
    expect(session.summary).toMatchObject({ files: 1, keptBoth: 1 });
    const scratch = mountScratch(undefined, `restore-${session.id}`);
    expect(existsSync(scratch)).toBe(false);
    expect(await killProcessesNaming(scratch)).toBe(0);
  }, 400_000);

  it('refuses, naming the field, paths outside the file systems of the point, and a whole file system', async () => {
    const runs = new Runs(db);
    const ask = (paths: string[]) =>
      runs.startRestore({ request: { kind: 'files', pointId, mountId: mount.id, paths, mode: 'overwrite' }, triggeredBy: 'ann' });
    for (const [paths, message] of [
      [['/nosuchfs/etc/x'], 'does not start at one of'],
      [[`/${key}`], 'is a whole file system'],
      [[`/${key}/../etc`], 'without empty, . or .. segments'],
      [[`${key}/etc`], 'starting with /'],
    ] as const) {
      const r = await ask([...paths]);
      expect(r.started, paths[0]).toBe(false);
      if (!r.started) {
        expect(r.refusal.field).toMatch(/^paths/);
        expect(r.refusal.message).toContain(message);
      }
    }
  });

  it('the index goes with its point', async () => {
    expect(await db.guestFile.count({ where: { pointId } })).toBeGreaterThan(0);
    await db.restorePoint.delete({ where: { id: pointId } });
    expect(await db.guestFile.count({ where: { pointId } })).toBe(0);
    expect(await db.guestIndex.findUnique({ where: { pointId } })).toBeNull();
  });
});
