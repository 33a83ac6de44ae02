import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUnavailableReason, startLabVm, type GuestConsole } from '../../../../scripts/lab/index.js';
import { rescanConnection } from '../../src/controller/rescan.js';
import { cleanup, controller, db, ended, job, labEstate, movers, redis, repository, startJob, tag, track, waitFor } from '../run-fixture.js';
import { expectCatalogMatchesStore, expectLatestRestoresAsGuestReads, expectNothingLeft } from './fault-fixture.js';

const unavailable = labUnavailableReason();
if (unavailable) console.warn(`SKIPPING VM fault tests: ${unavailable}`);

const virsh = (...args: string[]) => execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { encoding: 'utf8' });
const logOf = async (sessionId: string) => (await db.sessionLog.findMany({ where: { sessionId }, orderBy: { id: 'asc' } })).map((l) => l.message).join('\n');

// What a VM does to its own backup: crash or reboot during it, come back with new or fewer or
// larger disks between runs. Each run ends with a clear result, leaves nothing behind, and
// the next run succeeds on its own and restores to what the guest reads.
describe.skipIf(unavailable)('a VM changing under its backups', () => {
  let estate: Awaited<ReturnType<typeof labEstate>>;
  const guests: Record<string, GuestConsole> = {};
  const name = (short: string) => `sblab-${short}-${tag}`;

  beforeAll(async () => {
    estate = await labEstate([
      { name: 'vc', disksMiB: [24] },
      { name: 'vd', disksMiB: [16] },
    ]);
    for (const k of ['vc', 'vd']) guests[k] = estate.guests[k]!.guest;
    await guests.vc!.write('vda', 0, 12 * 1024, 'random');
    await movers([{ name: 'mv-vm', maxConcurrentTasks: 2 }]);
    await controller();
  });
  afterAll(async () => {
    await cleanup();
    await db.$disconnect();
    redis.disconnect();
  });

  const externalId = async (short: string) => (await db.vm.findUniqueOrThrow({ where: { id: estate.vmIds[short]! } })).externalId;
  const jobFor = async (short: string, writeRateLimit: bigint | null = null) => {
    const repo = await repository({ maxConcurrentTasks: 2, writeRateLimit });
    const j = await job({
      connectionId: estate.connectionId,
      repositoryId: repo.id,
      objects: [{ type: 'vm', vmId: estate.vmIds[short]! }],
      schedule: { kind: 'manual' },
      retries: { count: 0, waitMinutes: 1 },
    });
    return { repo, j };
  };
  /** The VM started again after it died, its console reopened. */
  const restart = async (short: string) => {
    guests[short]!.close();
    guests[short] = track(await startLabVm(estate.guests[short]!.vm));
  };

  it('QEMU killed (the VM crashed) during its backup: failed in one sentence, nothing left; the next run reads whole and restores right', async () => {
    const { repo, j } = await jobFor('vc', 3n * 1024n * 1024n);
    expect((await ended(await startJob(j.id))).status).toBe('success');
    await guests.vc!.write('vda', 0, 10 * 1024, 'random');
    const sessionId = await startJob(j.id);
    await waitFor('the read to begin', () => db.task.findFirst({ where: { sessionId, bytesRead: { gt: 0 } } }));
    virsh('destroy', name('vc'));
    const done = await ended(sessionId);
    expect(done.status).toBe('failed');
    expect(done.tasks[0]!.error).toBe(
      'the VM was powered off, rebooted or crashed during its backup; the next run backs it up again (its changes are still tracked)',
    );
    await expectNothingLeft(name('vc'), repo.path);
    await expectCatalogMatchesStore(repo.id, repo.path);

    await restart('vc');
    await db.backupRepository.update({ where: { id: repo.id }, data: { writeRateLimit: null } });
    const next = await ended(await startJob(j.id));
    // A crash leaves QEMU's bitmaps unsaved: the run says so and reads every disk whole.
    expect(['success', 'warning']).toContain(next.status);
    if (next.status === 'warning') expect(await logOf(next.id)).toMatch(/cannot be trusted/);
    await expectLatestRestoresAsGuestReads(repo.path, await externalId('vc'), guests.vc!);
    await expectNothingLeft(name('vc'), repo.path);
  });

  it('the VM reset (rebooted) during its backup: the run ends with a result, and the next one is right', async () => {
    const { repo, j } = await jobFor('vc', 3n * 1024n * 1024n);
    await guests.vc!.write('vda', 0, 10 * 1024, 'random');
    const sessionId = await startJob(j.id);
    await waitFor('the read to begin', () => db.task.findFirst({ where: { sessionId, bytesRead: { gt: 0 } } }));
    virsh('reset', name('vc'));
    const done = await ended(sessionId);
    expect(['success', 'warning', 'failed']).toContain(done.status);
    await expectNothingLeft(name('vc'), repo.path);
    await restart('vc');
    await db.backupRepository.update({ where: { id: repo.id }, data: { writeRateLimit: null } });
    const next = await ended(await startJob(j.id));
    expect(['success', 'warning']).toContain(next.status);
    await expectLatestRestoresAsGuestReads(repo.path, await externalId('vc'), guests.vc!);
    await expectCatalogMatchesStore(repo.id, repo.path);
  });

  // The lab's guests run without ACPI, so disks change in the domain's configuration and
  // the VM is started again (hard: QEMU killed, as a host's restart would), as on a host
  // whose VMs are reconfigured offline.
  const reboot = async (short: string) => {
    virsh('destroy', name(short));
    await restart(short);
  };

  it('a disk added between runs: after the rescan the next run backs up both, reads them whole once, and restores right', async () => {
    const { repo, j } = await jobFor('vd');
    expect((await ended(await startJob(j.id))).status).toBe('success');
    const image = join(estate.guests.vd!.vm.dir, 'vdb-added.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '8M']);
    virsh('attach-disk', name('vd'), image, 'vdb', '--driver', 'qemu', '--subdriver', 'qcow2', '--config');
    await reboot('vd');
    await guests.vd!.write('vdb', 0, 4 * 1024, 'random');
    await rescanConnection(db, estate.connectionId);
    const next = await ended(await startJob(j.id));
    expect(next.status).toBe('warning');
    expect(await logOf(next.id)).toMatch(/cannot be trusted/);
    expect(next.tasks.map((t) => t.diskName).sort()).toEqual(['vda', 'vdb']);
    expect(next.tasks.every((t) => t.readMode === 'allocated')).toBe(true);
    await expectLatestRestoresAsGuestReads(repo.path, await externalId('vd'), guests.vd!);
    // And the one after is incremental again, on both disks.
    await guests.vd!.write('vdb', 1024, 1024, 'random');
    const third = await ended(await startJob(j.id));
    expect(third.status).toBe('success');
    expect(third.tasks.every((t) => t.readMode === 'changed')).toBe(true);
    await expectLatestRestoresAsGuestReads(repo.path, await externalId('vd'), guests.vd!);
  });

  it('a disk resized between runs: the run says so, reads it whole, and the point has the new size', async () => {
    const { repo, j } = await jobFor('vd');
    expect((await ended(await startJob(j.id))).status).toBe('success');
    virsh('blockresize', name('vd'), 'vdb', '12M');
    await rescanConnection(db, estate.connectionId);
    const next = await ended(await startJob(j.id));
    expect(next.status).toBe('warning');
    expect(await logOf(next.id)).toMatch(/disk vdb was resized/);
    const latest = await db.restorePoint.findFirstOrThrow({ where: { repositoryId: repo.id }, orderBy: { time: 'desc' } });
    expect((latest.disks as { name: string; size: number }[]).find((d) => d.name === 'vdb')!.size).toBe(12 * 2 ** 20);
    await expectLatestRestoresAsGuestReads(repo.path, await externalId('vd'), guests.vd!);
  });

  it('a disk removed between runs and not yet rescanned: the VM fails saying to rescan; after the rescan it runs', async () => {
    const { repo, j } = await jobFor('vd');
    expect((await ended(await startJob(j.id))).status).toBe('success');
    virsh('detach-disk', name('vd'), 'vdb', '--config');
    await reboot('vd');
    const stale = await ended(await startJob(j.id));
    expect(stale.status).toBe('failed');
    expect(stale.tasks.find((t) => t.diskName === 'vda')!.error).toMatch(/vdb is no longer on the VM.*rescan/);
    await expectNothingLeft(name('vd'), repo.path);
    await rescanConnection(db, estate.connectionId);
    const next = await ended(await startJob(j.id));
    expect(['success', 'warning']).toContain(next.status);
    expect(next.tasks.map((t) => t.diskName)).toEqual(['vda']);
    await expectLatestRestoresAsGuestReads(repo.path, await externalId('vd'), guests.vd!);
    await expectCatalogMatchesStore(repo.id, repo.path);
  });
});
