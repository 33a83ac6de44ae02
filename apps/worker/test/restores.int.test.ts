import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreResultSchema, type SessionId } from '@strongbox/core';
import { InstantRecoveries, Runs } from '@strongbox/db';
import { defineLabVm, destroyLabVm, ensureLab, GuestConsole, labPoolPath, labUnavailableReason, LAB_POOL } from '../../../scripts/lab/index.js';
import { MoverProcess } from './faults/fault-fixture.js';
import { cleanup, controller, db, ended, job, labEstate, movers, redis, repository, startJob, tag, track, waitFor } from './run-fixture.js';

const unavailable = labUnavailableReason();
if (unavailable) console.warn(`SKIPPING restore tests: ${unavailable}`);

const MiB = 2 ** 20;
const virsh = (...args: string[]) => execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { encoding: 'utf8' });
const defined = (name: string) => {
  try {
    virsh('dominfo', name);
    return true;
  } catch {
    return false;
  }
};

/** The console of a VM, wherever its domain XML puts the socket (a restored VM has a folder of its own). */
async function consoleOf(vm: string): Promise<GuestConsole> {
  const xml = virsh('dumpxml', vm);
  const path = /<serial type='unix'>\s*<source mode='bind' path='([^']+)'/.exec(xml)?.[1];
  if (!path) throw new Error(`${vm} has no console socket`);
  // The serial console takes one client at a time: one connection, waited on for the boot.
  const c = await waitFor(`the console of ${vm}`, async () => GuestConsole.connect(path).catch(() => null), 60_000);
  try {
    await c.waitReady(180_000);
  } catch (error) {
    c.close();
    throw error;
  }
  return track(c);
}

/** Each disk's md5 as the guest reads it, whole. */
async function guestMd5s(guest: GuestConsole, disks: Record<string, number>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [dev, mib] of Object.entries(disks)) out[dev] = await guest.md5(dev, 0, mib * 1024);
  return out;
}

const logsOf = async (sessionId: string) => (await db.sessionLog.findMany({ where: { sessionId }, orderBy: { id: 'asc' } })).map((l) => l.message);

async function restore(request: Record<string, unknown>): Promise<SessionId> {
  const started = await new Runs(db).startRestore({ request, triggeredBy: 'test' });
  if (!started.started) throw new Error(`refused: ${started.refusal.field}: ${started.refusal.message}`);
  return started.sessionId;
}

async function expectSuccess(sessionId: string, timeoutMs = 300_000) {
  const done = await ended(sessionId, timeoutMs);
  expect(done.status, (await logsOf(sessionId)).join('\n')).toBe('success');
  return restoreResultSchema.parse(done.summary);
}

const poolFiles = (prefix: string) => readdirSync(poolDir).filter((f) => f.startsWith(prefix));
let poolDir: string;
let ensurePaths: Awaited<ReturnType<typeof ensureLab>>;

// Restores on lab VMs, each checked by what the guest reads: a 2-disk VM backed up twice
// (the guest writes between), then a new VM from the first point, a quick rollback of the
// original to it, an instant recovery of the second migrated to production, another one
// stopped; a mover killed in the middle of a restore leaves no VM and no image.
describe.skipIf(unavailable)('restores', () => {
  let estate: Awaited<ReturnType<typeof labEstate>>;
  let repo: Awaited<ReturnType<typeof repository>>;
  const disks = { vda: 24, vdb: 16 };
  const md5 = { first: {} as Record<string, string>, second: {} as Record<string, string> };
  const points: string[] = [];
  const restored = [
    `sblab-rsn-${tag}`,
    `sblab-rsi-${tag}`,
    `sblab-rsj-${tag}`,
    `sblab-rsk-${tag}`,
    `sblab-rsb-${tag}`,
    `sblab-rsc-${tag}`,
    `sblab-rss-${tag}`,
    `sblab-rsv-${tag}`,
  ];

  beforeAll(async () => {
    ensurePaths = await ensureLab();
    poolDir = await labPoolPath();
    estate = await labEstate([{ name: 'rs', disksMiB: [disks.vda, disks.vdb] }]);
    const guest = estate.guests.rs!.guest;
    await guest.write('vda', 0, 8 * 1024, 'random');
    await guest.write('vdb', 1024, 4 * 1024, 'random');
    repo = await repository({ maxConcurrentTasks: 2 });
    await movers([{ name: 'mv-rs', maxConcurrentTasks: 2 }]);
    await controller();
    const backup = await job({
      connectionId: estate.connectionId,
      repositoryId: repo.id,
      objects: [{ type: 'vm', vmId: estate.vmIds.rs! }],
      schedule: { kind: 'manual' },
    });
    for (const round of ['first', 'second'] as const) {
      if (round === 'second') await guest.write('vda', 4096, 1024, 'random');
      const s = await ended(await startJob(backup.id), 180_000);
      expect(s.status).toBe('success');
      md5[round] = await guestMd5s(guest, disks);
      const point = await db.restorePoint.findFirstOrThrow({ where: { sessionId: s.id } });
      points.push(point.id);
    }
    expect(md5.first.vda).not.toBe(md5.second.vda);
  }, 600_000);
  /** After a test of a mover in its own process: only the in-process one takes work again (the killed one may still look alive). */
  const backToInProcessMover = async () => {
    await db.mover.updateMany({ where: { name: { not: `mv-rs-${tag}` } }, data: { enabled: false } });
    await db.mover.updateMany({ where: { name: `mv-rs-${tag}` }, data: { enabled: true } });
  };

  /** A mover in its own process takes restores once it has told which stores it sees. */
  const seesStore = (name: string) =>
    waitFor(`mover ${name} to see the repository`, () => db.mover.findFirst({ where: { name, enabled: true, repositoryIds: { has: repo.id } } }));

  afterAll(async () => {
    for (const name of restored) await destroyLabVm(ensurePaths, name).catch(() => undefined);
    // A test that failed half-way may leave an instant recovery's overlays and socket: they go too.
    for (const r of await db.instantRecovery.findMany({ where: { vmName: { in: restored } }, select: { scratchDir: true } })) {
      if (r.scratchDir) rmSync(r.scratchDir, { recursive: true, force: true });
    }
    await cleanup();
    await db.$disconnect();
    redis.disconnect();
  });

  it('entire VM as a new VM from the first point: it boots, and each disk reads as at the first backup', async () => {
    const name = restored[0]!;
    const id = await restore({
      kind: 'vm-new',
      pointId: points[0],
      name,
      connectionId: estate.connectionId,
      pool: LAB_POOL,
      networks: 'disconnected',
      powerOn: true,
    });
    const result = await expectSuccess(id);
    expect(result).toMatchObject({ restore: 'vm-new', mode: 'full' });
    expect(result.blocksSkipped, 'zero blocks left unallocated').toBeGreaterThan(0);
    const guest = await consoleOf(name);
    expect(await guestMd5s(guest, disks)).toEqual(md5.first);
    // Sparse: the qcow2 images hold about the data, not the disk size.
    const allocated = poolFiles(`${name}-`).reduce((n, f) => n + Number(execFileSync('du', ['-B1', join(poolDir, f)], { encoding: 'utf8' }).split('\t')[0]), 0);
    expect(allocated).toBeLessThan((disks.vda + disks.vdb) * MiB * 0.75);
    // The new VM is not the old one.
    expect(virsh('domuuid', name).trim()).not.toBe(virsh('domuuid', estate.guests.rs!.vm.name).trim());
  }, 600_000);

  it('quick rollback of the original VM to the first point writes only what can differ, and the guest reads the first backup', async () => {
    const vm = estate.guests.rs!.vm.name;
    // Written after the second backup: only libvirt's bitmap knows of it.
    await estate.guests.rs!.guest.write('vdb', 2048, 512, 'random');
    const id = await restore({ kind: 'vm-original', pointId: points[0], confirmOverwrite: true, quickRollback: true, powerOn: true });
    const result = await expectSuccess(id);
    const logs = await logsOf(id);
    expect(result.mode, logs.join('\n')).toBe('quick');
    expect(logs.some((l) => /quick rollback: the VM has checkpoint/.test(l))).toBe(true);
    const counts = logs.flatMap((l) => {
      const m = /^(vd[ab]): (\d+) of (\d+) block\(s\) can differ/.exec(l);
      return m ? [{ disk: m[1], can: Number(m[2]), of: Number(m[3]) }] : [];
    });
    expect(counts.map((c) => c.disk).sort()).toEqual(['vda', 'vdb']);
    for (const c of counts) {
      expect(c.can).toBeGreaterThan(0);
      expect(c.can).toBeLessThan(c.of / 4);
    }
    expect(result.blocksWritten + result.blocksZeroed).toBe(counts.reduce((n, c) => n + c.can, 0));
    const guest = await consoleOf(vm);
    estate.guests.rs!.guest = guest;
    expect(await guestMd5s(guest, disks)).toEqual(md5.first);
    expect(await db.vm.findUniqueOrThrow({ where: { id: estate.vmIds.rs! } })).toMatchObject({ restoreFailure: null });
  }, 600_000);

  it('instant recovery of the second point runs at once, then migrates to production while running; the export is gone', async () => {
    const name = restored[1]!;
    const id = await restore({ kind: 'instant', pointId: points[1], name, connectionId: estate.connectionId });
    await expectSuccess(id);
    const recoveries = new InstantRecoveries(db);
    const row = (await recoveries.list()).find((r) => r.vmName === name)!;
    expect(row.state).toBe('running');
    const guest = await consoleOf(name);
    expect(await guestMd5s(guest, disks)).toEqual(md5.second);
    expect(existsSync(join(row.scratchDir!, 'nbd.sock'))).toBe(true);
    expect(await recoveries.requestAction(row.id, 'migrate', 'test', { pool: LAB_POOL, format: 'qcow2' })).toEqual({ ok: true });
    await waitFor('the migration to end', async () => ((await recoveries.get(row.id))?.state === 'migrated' ? true : null), 300_000);
    // Running on images in the pool, not on overlays; the export and the scratch folder are gone.
    expect(virsh('domstate', name).trim()).toBe('running');
    const sources = virsh('domblklist', name);
    expect(sources).toContain(poolDir);
    expect(sources).not.toContain(row.scratchDir!);
    expect(existsSync(row.scratchDir!)).toBe(false);
    expect(await guestMd5s(guest, disks)).toEqual(md5.second);
  }, 600_000);

  it('a second instant recovery, stopped: no VM, overlay, export or scratch folder remains', async () => {
    const name = restored[2]!;
    const id = await restore({ kind: 'instant', pointId: points[1], name, connectionId: estate.connectionId });
    await expectSuccess(id);
    const recoveries = new InstantRecoveries(db);
    const row = (await recoveries.list()).find((r) => r.vmName === name)!;
    expect(defined(name)).toBe(true);
    expect(await recoveries.requestAction(row.id, 'stop', 'test')).toEqual({ ok: true });
    await waitFor('publishing to stop', async () => ((await recoveries.get(row.id))?.state === 'stopped' ? true : null), 120_000);
    expect(defined(name)).toBe(false);
    expect(existsSync(row.scratchDir!)).toBe(false);
    expect(poolFiles(`${name}-`)).toEqual([]);
  }, 600_000);

  it('a mover killed in the middle of a restore: the session ends interrupted, no VM and no image are left', async () => {
    const name = restored[3]!;
    const mover = new MoverProcess(`mv-rs-kill-${tag}`);
    await db.mover.updateMany({ data: { enabled: false } });
    try {
      await mover.start('restore:mid-write');
      await seesStore(mover.name);
      // Slow enough that the failpoint's first progress comes mid-disk.
      await db.backupRepository.update({ where: { id: repo.id }, data: { readRateLimit: BigInt(2 * MiB) } });
      const id = await restore({ kind: 'vm-new', pointId: points[1], name, connectionId: estate.connectionId, pool: LAB_POOL });
      await mover.died();
      await mover.start();
      const done = await ended(id, 120_000);
      expect(['interrupted', 'failed'], (await logsOf(id)).join('\n')).toContain(done.status);
      expect(defined(name)).toBe(false);
      expect(poolFiles(`${name}-`)).toEqual([]);
      expect((await logsOf(id)).some((l) => /removed what the interrupted restore had made/.test(l))).toBe(true);
    } finally {
      await db.backupRepository.update({ where: { id: repo.id }, data: { readRateLimit: null } });
      await mover.kill();
      await backToInProcessMover();
    }
  }, 600_000);

  it('an instant recovery whose mover restarts is shown broken with why; stop publishing then removes everything', async () => {
    const name = restored[4]!;
    const mover = new MoverProcess(`mv-rs-ir-${tag}`);
    await db.mover.updateMany({ data: { enabled: false } });
    try {
      await mover.start();
      await seesStore(mover.name);
      const id = await restore({ kind: 'instant', pointId: points[1], name, connectionId: estate.connectionId });
      await expectSuccess(id);
      const recoveries = new InstantRecoveries(db);
      const row = (await recoveries.list()).find((r) => r.vmName === name)!;
      expect(row.state).toBe('running');
      await mover.kill();
      await mover.start();
      const broken = await waitFor('the recovery to be marked broken', async () => {
        const r = await recoveries.get(row.id);
        return r?.state === 'broken' ? r : null;
      });
      expect(broken.error).toMatch(/its mover restarted: .*Stop publishing to remove the VM and its overlays/);
      // The state goes first, the session's line right after it.
      await waitFor('the session to say so', async () => (await logsOf(id)).some((l) => l.includes('its mover restarted')), 30_000);
      expect(await recoveries.requestAction(row.id, 'stop', 'test')).toEqual({ ok: true });
      await waitFor('publishing to stop', async () => ((await recoveries.get(row.id))?.state === 'stopped' ? true : null), 120_000);
      expect(defined(name)).toBe(false);
      expect(existsSync(row.scratchDir!)).toBe(false);
    } finally {
      await mover.kill();
      await backToInProcessMover();
    }
  }, 600_000);

  it('a name taken on the host after the request: the restore fails before writing, and the VM of that name is untouched', async () => {
    const name = restored[5]!;
    // The unit waits while its repository has no free slot: meanwhile the name is taken on the host.
    await db.backupRepository.update({ where: { id: repo.id }, data: { maxConcurrentTasks: 0 } });
    const id = await restore({ kind: 'vm-new', pointId: points[0], name, connectionId: estate.connectionId, pool: LAB_POOL });
    const other = await defineLabVm(ensurePaths, { name, disks: [{ sizeMiB: 4 }] });
    const uuid = virsh('domuuid', name).trim();
    await db.backupRepository.update({ where: { id: repo.id }, data: { maxConcurrentTasks: 2 } });
    const done = await ended(id, 120_000);
    expect(done.status).toBe('failed');
    expect((await logsOf(id)).join('\n')).toMatch(/a VM named .* exists on the host now: nothing was written/);
    expect(virsh('domuuid', name).trim()).toBe(uuid);
    expect(existsSync(other.disks[0]!.path)).toBe(true);
    expect(poolFiles(`${name}-`)).toEqual([]);
  }, 600_000);

  it('a restore stopped by a user mid-disk ends cancelled and takes back what it made', async () => {
    const name = restored[6]!;
    await db.backupRepository.update({ where: { id: repo.id }, data: { readRateLimit: BigInt(MiB) } });
    try {
      const id = await restore({ kind: 'vm-new', pointId: points[1], name, connectionId: estate.connectionId, pool: LAB_POOL });
      await waitFor('the restore to write', async () => (await db.task.findFirst({ where: { sessionId: id, bytesRead: { gt: 0 } } })) !== null, 120_000);
      expect(poolFiles(`${name}-`).length).toBeGreaterThan(0);
      await new Runs(db).requestStop(id, 'test');
      const done = await ended(id, 120_000);
      expect(done.status, (await logsOf(id)).join('\n')).toBe('cancelled');
      expect((await logsOf(id)).some((l) => /removed what the restore had made: .*image/.test(l))).toBe(true);
      expect(defined(name)).toBe(false);
      expect(poolFiles(`${name}-`)).toEqual([]);
    } finally {
      await db.backupRepository.update({ where: { id: repo.id }, data: { readRateLimit: null } });
    }
  }, 600_000);

  it('pnpm restore:vm is a thin caller of the same restore: it starts it, prints its log, and the VM reads as the point', async () => {
    const name = restored[7]!;
    const root = join(import.meta.dirname, '../../..');
    // Asynchronously: this process runs the controller and the mover the command waits for.
    const { stdout: out } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(root, 'scripts/restore-vm.ts'), estate.guests.rs!.vm.name, '--name', name, '--pool', LAB_POOL, '--point', points[0]!, '--start'],
      { cwd: root, encoding: 'utf8', env: process.env },
    );
    expect(out).toMatch(/restore complete: VM /);
    const guest = await consoleOf(name);
    expect(await guestMd5s(guest, disks)).toEqual(md5.first);
  }, 600_000);
});
