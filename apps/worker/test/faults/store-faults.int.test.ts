import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runs } from '@strongbox/db';
import { restoreDisk } from '@strongbox/pipeline';
import { Repository } from '@strongbox/repository';
import { labUnavailableReason } from '../../../../scripts/lab/index.js';
import { cleanup, controller, db, ended, job, labEstate, movers, redis, repository, startJob, tag, waitFor } from '../run-fixture.js';
import { expectCatalogMatchesStore, expectLatestRestoresAsGuestReads, expectNothingLeft } from './fault-fixture.js';

const unavailable = labUnavailableReason();
if (unavailable) console.warn(`SKIPPING store fault tests: ${unavailable}`);
const logOf = async (sessionId: string) => (await db.sessionLog.findMany({ where: { sessionId }, orderBy: { id: 'asc' } })).map((l) => l.message).join('\n');

// What the repository's disk does to backups: fills up, is swept by GC while backups write,
// rots. Nothing partial stays, no referenced chunk is lost, damage is named and healed.
describe.skipIf(unavailable)('the repository failing under backups', () => {
  let estate: Awaited<ReturnType<typeof labEstate>>;
  const mounts: string[] = [];

  beforeAll(async () => {
    estate = await labEstate([
      { name: 'sa', disksMiB: [24] },
      { name: 'sb', disksMiB: [16] },
      { name: 'sc', disksMiB: [16] },
      { name: 'sd', disksMiB: [16] },
    ]);
    for (const k of ['sa', 'sb', 'sc', 'sd']) await estate.guests[k]!.guest.write('vda', 0, 8 * 1024, 'random');
    await movers([{ name: 'mv-store', maxConcurrentTasks: 4 }]);
    await controller();
  });
  afterAll(async () => {
    await cleanup();
    for (const m of mounts) execFileSync('umount', ['-l', m]);
    await db.$disconnect();
    redis.disconnect();
  });

  const externalId = async (short: string) => (await db.vm.findUniqueOrThrow({ where: { id: estate.vmIds[short]! } })).externalId;
  const settled = (repositoryId: string) =>
    waitFor('the repository\u2019s maintenance to end', async () => (await db.session.count({ where: { repositoryId, endedAt: null } })) === 0, 120_000);

  it('the repository\u2019s file system fills during a backup: "repository full", nothing partial stays, and after more room the next run succeeds', async () => {
    // A 14 MiB file system: the first full (8 MiB of data that does not compress) fits, the second does not.
    const mount = mkdtempSync(join(tmpdir(), 'strongbox-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=14m', 'tmpfs', mount]);
    mounts.push(mount);
    const path = join(mount, 'repo');
    const repo = await db.backupRepository.create({ data: { name: `full-${tag}`, path, maxConcurrentTasks: 2 } });
    const j = await job({
      connectionId: estate.connectionId,
      repositoryId: repo.id,
      objects: [{ type: 'vm', vmId: estate.vmIds.sa! }],
      schedule: { kind: 'manual' },
      retries: { count: 0, waitMinutes: 1 },
    });
    expect((await ended(await startJob(j.id))).status).toBe('success');
    await estate.guests.sa!.guest.write('vda', 0, 8 * 1024, 'random');
    const failed = await ended(await startJob(j.id));
    expect(failed.status).toBe('failed');
    expect(failed.tasks[0]!.error).toMatch(/^the repository's file system is full; free space on it/);
    await settled(repo.id);
    expect(await logOf(failed.id)).toMatch(/failed: the repository's file system is full/);
    // Space reclamation after the failed run took the chunks nothing references.
    const gc = await db.session.findFirstOrThrow({ where: { startKey: `gc-after-${failed.id}` } });
    expect(gc.status).toBe('success');
    await expectNothingLeft(`sblab-sa-${tag}`, path);
    await expectCatalogMatchesStore(repo.id, path);
    execFileSync('mount', ['-o', 'remount,size=64m', mount]);
    const next = await ended(await startJob(j.id));
    expect(next.status).toBe('success');
    await expectLatestRestoresAsGuestReads(path, await externalId('sa'), estate.guests.sa!.guest);
  });

  it('GC sweeping again and again while 4 backups write: no referenced chunk is lost', async () => {
    const repo = await repository({ maxConcurrentTasks: 4 });
    const shorts = ['sa', 'sb', 'sc', 'sd'];
    const jobs = [];
    for (const k of shorts) {
      jobs.push(
        await job({
          connectionId: estate.connectionId,
          repositoryId: repo.id,
          objects: [{ type: 'vm', vmId: estate.vmIds[k]! }],
          schedule: { kind: 'manual' },
        }),
      );
    }
    for (const j of jobs) expect((await ended(await startJob(j.id))).status).toBe('success');
    for (const k of shorts) await estate.guests[k]!.guest.write('vda', 2048, 4 * 1024, 'random');
    const store = await Repository.open(repo.path);
    let sweeping = true;
    let sweeps = 0;
    const sweeper = (async () => {
      while (sweeping) {
        // Another GC may hold the lock; the next loop takes it.
        await store.gc({ marginMs: 0 }).then(
          () => sweeps++,
          (e: unknown) => expect(String(e)).toMatch(/GC|lock|running/i),
        );
      }
    })();
    const sessions = await Promise.all(jobs.map((j) => startJob(j.id)));
    for (const id of sessions) expect((await ended(id)).status).toBe('success');
    sweeping = false;
    await sweeper;
    expect(sweeps).toBeGreaterThan(0);
    await settled(repo.id);
    const report = await store.verify();
    expect(report.bad).toEqual([]);
    for (const k of shorts) await expectLatestRestoresAsGuestReads(repo.path, await externalId(k), estate.guests[k]!.guest);
  });

  it('damaged chunks, index and manifest: verify names each, a restore refuses, and the next backup heals the chunks', async () => {
    const repo = await repository({ maxConcurrentTasks: 2 });
    const j = await job({
      connectionId: estate.connectionId,
      repositoryId: repo.id,
      objects: [{ type: 'vm', vmId: estate.vmIds.sb! }],
      schedule: { kind: 'manual' },
    });
    expect((await ended(await startJob(j.id))).status).toBe('success');
    const store = await Repository.open(repo.path);
    const [point] = await store.listPoints(await externalId('sb'));
    const reader = await store.openPoint(point!.id);
    const disk = reader.disk('vda');
    // Three chunks the point needs: one bit flipped, one truncated, one deleted.
    const chunks: string[] = [];
    for (let i = 0; i < disk.blockCount && chunks.length < 3; i++) {
      const d = disk.digestAt(i);
      if (d && !chunks.includes(d.toString('hex'))) chunks.push(d.toString('hex'));
    }
    const file = (hex: string) => join(repo.path, 'chunks', hex.slice(0, 2), hex.slice(2, 4), hex);
    const fd = openSync(file(chunks[0]!), 'r+');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, 100);
    b[0]! ^= 0x01;
    writeSync(fd, b, 0, 1, 100);
    closeSync(fd);
    writeFileSync(file(chunks[1]!), Buffer.alloc(10));
    rmSync(file(chunks[2]!));

    const verify = await new Runs(db).startMaintenance({ repositoryId: repo.id, operation: 'verify', triggeredBy: 'test' });
    const checked = await ended(verify.sessionId!);
    expect(checked.status).toBe('failed');
    const log = await logOf(checked.id);
    for (const hex of chunks) expect(log).toContain(hex.slice(0, 16));
    expect(log).toContain(point!.id);
    const out = join(tmpdir(), `strongbox-damaged-${tag}.raw`);
    await expect(restoreDisk(await store.openPoint(point!.id), 'vda', out)).rejects.toThrow(/chunk/);
    rmSync(out, { force: true });

    // The next backup reads the blocks of the bad chunks again, though they did not change.
    const healed = await ended(await startJob(j.id));
    expect(healed.status).toBe('success');
    const again = await ended((await new Runs(db).startMaintenance({ repositoryId: repo.id, operation: 'verify', triggeredBy: 'test' })).sessionId!);
    // Chunks are named by their content: the rewritten ones heal the damaged point too.
    expect(again.status, await logOf(again.id)).toBe('success');
    expect((await store.verify()).bad).toEqual([]);
    expect(readdirSync(join(repo.path, 'gc', 'bad'))).toEqual([]);
    await expectLatestRestoresAsGuestReads(repo.path, await externalId('sb'), estate.guests.sb!.guest);
  });
});
