import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Failpoint } from '@strongbox/config';
import { labUnavailableReason } from '../../../../scripts/lab/index.js';
import { cleanup, controller, db, ended, job, labEstate, movers, redis, repository, startJob, tag, waitFor } from '../run-fixture.js';
import { expectCatalogMatchesStore, expectLatestRestoresAsGuestReads, expectNothingLeft, MoverProcess } from './fault-fixture.js';

const unavailable = labUnavailableReason();
if (unavailable) console.warn(`SKIPPING mover kill tests: ${unavailable}`);

// SIGKILL of a mover at each point of a VM's backup (a failpoint makes the mover kill
// itself there), then the mover started again under its name, as a supervisor does. After
// each: the run ends on its own, nothing is left on the host or in the store, the catalog
// and the store agree, and the latest point restores to what the guest reads.
describe.skipIf(unavailable)('a mover killed during a backup, then restarted', () => {
  let estate: Awaited<ReturnType<typeof labEstate>>;
  let repo: Awaited<ReturnType<typeof repository>>;
  let fullJob: Awaited<ReturnType<typeof job>>;
  let incrementalJob: Awaited<ReturnType<typeof job>>;
  const mover = new MoverProcess(`mv-fault-${tag}`);
  const vmName = `sblab-fk-${tag}`;

  beforeAll(async () => {
    estate = await labEstate([{ name: 'fk', disksMiB: [24] }]);
    // Random data the backups must carry (it does not compress), and a write limit that keeps
    // each run long enough to be killed in the middle of its read.
    await estate.guests.fk!.guest.write('vda', 0, 12 * 1024, 'random');
    repo = await repository({ maxConcurrentTasks: 2, writeRateLimit: 4n * 1024n * 1024n });
    const objects = [{ type: 'vm' as const, vmId: estate.vmIds.fk! }];
    const retries = { count: 3, waitMinutes: 1 };
    const schedule = { kind: 'manual' as const };
    // Every run of this one is an active full (its weekday is every day of this test's).
    fullJob = await job({
      connectionId: estate.connectionId,
      repositoryId: repo.id,
      objects,
      retries,
      schedule,
      options: { activeFull: { kind: 'weekly', weekday: new Date().getUTCDay() } },
    });
    incrementalJob = await job({ connectionId: estate.connectionId, repositoryId: repo.id, objects, retries, schedule });
    await movers([]); // every other mover disabled: only the one in its own process takes work
    await controller();
  });
  afterAll(async () => {
    await mover.kill();
    await cleanup();
    await db.$disconnect();
    redis.disconnect();
  });

  /** No maintenance left to run on the repository (the GC after a disturbed run clears what a killed writer left). */
  const repositorySettled = () =>
    waitFor(
      'the repository\u2019s maintenance to end',
      async () => (await db.session.count({ where: { repositoryId: repo.id, endedAt: null } })) === 0,
      120_000,
    );

  async function expectRecovered(sessionId: string) {
    const done = await ended(sessionId, 180_000);
    expect(done.status, (await db.sessionLog.findMany({ where: { sessionId } })).map((l) => l.message).join('\n')).toBe('success');
    await repositorySettled();
    await expectNothingLeft(vmName, repo.path);
    await expectCatalogMatchesStore(repo.id, repo.path);
    await expectLatestRestoresAsGuestReads(
      repo.path,
      `${(await db.vm.findUniqueOrThrow({ where: { id: estate.vmIds.fk! } })).externalId}`,
      estate.guests.fk!.guest,
    );
    return done;
  }

  const cases: [string, Failpoint, 'full' | 'incremental'][] = [
    ['killed after the VM\u2019s view opened, before a byte was read (full)', 'vm:after-open', 'full'],
    ['killed in the middle of an active full\u2019s read: the chain keeps its checkpoint', 'vm:mid-read', 'full'],
    ['killed between the manifest and the catalog: the point is recorded, not read twice (full)', 'vm:after-commit', 'full'],
    ['killed in the middle of an incremental\u2019s read', 'vm:mid-read', 'incremental'],
    ['killed with every disk read, before the manifest', 'vm:before-commit', 'incremental'],
    ['killed after the catalog, before the libvirt backup job was released', 'vm:after-publish', 'incremental'],
  ];
  it.each(cases)('%s', async (_name, failpoint, kind) => {
    await estate.guests.fk!.guest.write('vda', 14 * 1024, 6 * 1024, 'random');
    const before = await db.restorePoint.count({ where: { repositoryId: repo.id } });
    await mover.start(failpoint);
    const sessionId = await startJob(kind === 'full' ? fullJob.id : incrementalJob.id);
    expect(await mover.died()).toBe(128);
    await mover.start();
    const done = await expectRecovered(sessionId);
    // One new point: a run whose point was committed before the kill is not run again.
    expect(await db.restorePoint.count({ where: { repositoryId: repo.id } })).toBe(before + 1);
    const log = (await db.sessionLog.findMany({ where: { sessionId } })).map((l) => l.message).join('\n');
    expect(log).not.toMatch(/cannot be trusted/);
    if (failpoint === 'vm:after-commit' || failpoint === 'vm:after-publish') expect(done.tasks.every((t) => t.attempt === 1)).toBe(true);
    else expect(log).toMatch(/restarted while it ran this/);
    // The next run reads only what changed since: the chain survived the kill.
    await estate.guests.fk!.guest.write('vda', 2 * 1024, 1024, 'random');
    const next = await ended(await startJob(incrementalJob.id), 180_000);
    expect(next.status).toBe('success');
    expect(next.tasks[0]!.readMode).toBe('changed');
    await mover.stop();
  });

  // Seeded moments rather than failpoints: wherever the kill lands, the same must hold.
  const seeded = [0.35, 0.8];
  it.each(seeded)('killed at %s of the way through a run\u2019s read, by the clock', async (fraction) => {
    await estate.guests.fk!.guest.write('vda', 0, 8 * 1024, 'random');
    await mover.start();
    const sessionId = await startJob(incrementalJob.id);
    const reading = await waitFor('the read to begin', () => db.task.findFirst({ where: { sessionId, bytesRead: { gt: 0 } } }));
    const total = (reading.progress as { totalBytes?: number } | null)?.totalBytes ?? 8 * 2 ** 20;
    await waitFor('the chosen moment', async () => {
      const t = await db.task.findFirstOrThrow({ where: { sessionId } });
      return Number(t.bytesRead) >= fraction * total || t.status !== 'running';
    });
    await mover.kill();
    await mover.start();
    await expectRecovered(sessionId);
    await mover.stop();
  });
});
