import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROCESSING_SETTING_KEY, processingSettingSchema, Runs, Settings } from '@strongbox/db';
import { SMTP_SETTING_KEY, smtpSettingsSchema } from '@strongbox/notifications';
import { NOTIFY_QUEUE } from '@strongbox/queue';
import type { SessionId } from '@strongbox/core';
import { scratchLeftovers } from '@strongbox/hypervisors';
import { labUnavailableReason } from '../../../scripts/lab/index.js';
import { startSmtpSink } from '../../../packages/notifications/test/smtp-sink.js';
import { Controller } from '../src/controller/controller.js';
import { cleanup, controller, db, ended, env, job, labEstate, movers, quiet, redis, repository, startJob, tag, waitFor } from './run-fixture.js';

const unavailable = labUnavailableReason();
if (unavailable) console.warn(`SKIPPING job run tests: ${unavailable}`);

type Interval = { name: string; from: number; to: number };
const intervals = (tasks: { diskName: string | null; startedAt: Date | null; endedAt: Date | null; vm: { name: string } | null }[]): Interval[] =>
  tasks.map((t) => ({ name: `${t.vm?.name}/${t.diskName}`, from: t.startedAt!.getTime(), to: t.endedAt!.getTime() }));
/** The most intervals open at one instant. */
function peak(list: Interval[]): number {
  const edges = list.flatMap((i) => [
    { at: i.from, d: 1 },
    { at: i.to, d: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let open = 0;
  let max = 0;
  for (const e of edges) max = Math.max(max, (open += e.d));
  return max;
}

const root = join(import.meta.dirname, '../../..');
const virshList = (...args: string[]) => execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { encoding: 'utf8' });

describe.skipIf(unavailable)('job runs through the controller and movers, on lab VMs', () => {
  let estate: Awaited<ReturnType<typeof labEstate>>;

  beforeAll(async () => {
    estate = await labEstate([
      { name: 'ra', disksMiB: [32] },
      { name: 'rb', disksMiB: [32, 16] },
      { name: 'rc', disksMiB: [32] },
    ]);
  });
  afterAll(async () => {
    await cleanup();
    await db.$disconnect();
    redis.disconnect();
  });

  const vmObjects = () => Object.values(estate.vmIds).map((vmId) => ({ type: 'vm' as const, vmId }));

  it('never runs more VMs on a repository than its limit (mover 2, repository 1), and makes a point per VM', async () => {
    await movers([{ name: 'mv-a', maxConcurrentTasks: 2 }]);
    const repo = await repository({ maxConcurrentTasks: 1 });
    const j = await job({ connectionId: estate.connectionId, repositoryId: repo.id, objects: vmObjects(), schedule: { kind: 'manual' } });
    await controller();
    const session = await ended(await startJob(j.id));
    expect(session.status).toBe('success');
    expect(session.tasks).toHaveLength(4);
    expect(peak(intervals(session.tasks))).toBe(1);
    expect(await db.restorePoint.count({ where: { jobId: j.id } })).toBe(3);
    expect(session.tasks.every((t) => t.readMode === 'allocated')).toBe(true);

    // The second run reads only what the guest changed.
    await estate.guests.ra!.guest.write('vda', 1024, 1024, 'random');
    const done = await ended(await startJob(j.id));
    expect(done.status).toBe('success');
    const ra = done.tasks.find((t) => t.vm?.name === `sblab-ra-${tag}`)!;
    expect(ra.readMode).toBe('changed');
    expect(Number(ra.bytesRead)).toBe(1024 * 1024);
    expect(await db.restorePoint.count({ where: { jobId: j.id, kind: 'incremental' } })).toBe(3);
  });

  it('in sequential mode runs one disk at a time', async () => {
    await movers([{ name: 'mv-seq', maxConcurrentTasks: 4 }]);
    const settings = new Settings(db);
    const before = await settings.get(PROCESSING_SETTING_KEY, processingSettingSchema);
    await settings.save(PROCESSING_SETTING_KEY, { mode: 'sequential' }, before?.version ?? 0);
    try {
      const repo = await repository({ maxConcurrentTasks: 4 });
      const j = await job({ connectionId: estate.connectionId, repositoryId: repo.id, objects: vmObjects(), schedule: { kind: 'manual' } });
      await controller();
      const session = await ended(await startJob(j.id));
      expect(session.status).toBe('success');
      expect(peak(intervals(session.tasks))).toBe(1);
    } finally {
      const now = await settings.get(PROCESSING_SETTING_KEY, processingSettingSchema);
      await settings.save(PROCESSING_SETTING_KEY, { mode: 'parallel' }, now!.version);
    }
  });

  it('fires a scheduled job at its time (the clock is injected), once', async () => {
    const repo = await repository({ maxConcurrentTasks: 2 });
    const j = await job({
      connectionId: estate.connectionId,
      repositoryId: repo.id,
      objects: vmObjects().slice(0, 1),
      schedule: { kind: 'daily', times: ['03:00'], weekdays: [0, 1, 2, 3, 4, 5, 6] },
      timeZone: 'Europe/Paris',
    });
    const c = new Controller(db, redis, env.STRONGBOX_REDIS_PREFIX, quiet);
    await c.tick(new Date('2031-01-10T12:00:00Z'));
    const row = await db.backupJob.findUniqueOrThrow({ where: { id: j.id } });
    expect(row.nextRunAt?.toISOString()).toBe('2031-01-11T02:00:00.000Z');
    expect(await db.session.count({ where: { jobId: j.id } })).toBe(0);
    await c.tick(new Date('2031-01-11T02:00:30Z'));
    await c.tick(new Date('2031-01-11T02:00:40Z'));
    const sessions = await db.session.findMany({ where: { jobId: j.id } });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ name: `${j.name} (Scheduled)`, startKey: `schedule-${j.id}-${Date.parse('2031-01-11T02:00:00Z')}` });
    expect((await db.backupJob.findUniqueOrThrow({ where: { id: j.id } })).nextRunAt?.toISOString()).toBe('2031-01-12T02:00:00.000Z');
    await new Runs(db).requestStop(sessions[0]!.id as SessionId, 'test');
    await c.stop();
  });

  it('a mover killed mid-VM: the VM is retried on another mover, and nothing is left on the host', async () => {
    const [b] = await movers([{ name: 'mv-b', maxConcurrentTasks: 2 }]);
    // Mover A in its own process, so that it can be killed; a slow repository keeps it busy.
    const moverA = `mv-killed-${tag}`;
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(root, 'apps/worker/src/main.ts'), '--role', 'mover'], {
      cwd: root,
      env: { ...process.env, STRONGBOX_MOVER_NAME: moverA, STRONGBOX_SITE: 'lab', LOG_LEVEL: 'warn' },
      stdio: 'inherit',
    });
    const a = await waitFor('mover A to register', () => db.mover.findUnique({ where: { name: moverA } }));
    await db.mover.update({ where: { id: b!.id! }, data: { enabled: false } });
    const repo = await repository({ maxConcurrentTasks: 2, writeRateLimit: 2n * 1024n * 1024n });
    const j = await job({
      connectionId: estate.connectionId,
      repositoryId: repo.id,
      objects: [{ type: 'vm', vmId: estate.vmIds.rc! }],
      schedule: { kind: 'manual' },
      retries: { count: 2, waitMinutes: 1 },
    });
    await controller();
    const session = { id: await startJob(j.id) };
    await waitFor('A to be reading', async () => (await db.task.findFirst({ where: { sessionId: session.id, moverId: a.id, bytesRead: { gt: 0 } } })) !== null);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // Past its heartbeat: what a minute of silence would show.
    await db.mover.update({ where: { id: a.id }, data: { lastHeartbeatAt: new Date(Date.now() - 10 * 60_000) } });
    await db.mover.update({ where: { id: b!.id! }, data: { enabled: true } });
    await db.backupRepository.update({ where: { id: repo.id }, data: { writeRateLimit: null } });
    const done = await ended(session.id);
    expect(done.status).toBe('success');
    expect(done.tasks[0]!.moverId).toBe(b!.id);
    expect(done.tasks[0]!.attempt).toBe(2);
    const logs = await db.sessionLog.findMany({ where: { sessionId: session.id } });
    expect(logs.map((l) => l.message).join('\n')).toMatch(/stopped answering/);
    const vmName = `sblab-rc-${tag}`;
    expect(virshList('domjobinfo', vmName)).toMatch(/None/);
    expect(virshList('checkpoint-list', vmName, '--name').trim().split('\n').filter(Boolean)).toHaveLength(1);
    expect(scratchLeftovers()).toEqual([]);
  });

  it('a controller restarted mid-run: the run completes, never stuck running', async () => {
    await movers([{ name: 'mv-r', maxConcurrentTasks: 2 }]);
    const repo = await repository({ maxConcurrentTasks: 1, writeRateLimit: 8n * 1024n * 1024n });
    const j = await job({ connectionId: estate.connectionId, repositoryId: repo.id, objects: vmObjects(), schedule: { kind: 'manual' } });
    const first = await controller();
    const session = { id: await startJob(j.id) };
    await waitFor('a VM running', () => db.task.findFirst({ where: { sessionId: session.id, status: 'running' } }));
    await first.stop();
    await controller();
    const done = await ended(session.id);
    expect(done.status).toBe('success');
    expect(done.tasks.every((t) => t.status === 'success')).toBe(true);
  });

  it('a stop cancels the running VM, releases its view and leaves no point', async () => {
    await movers([{ name: 'mv-stop', maxConcurrentTasks: 2 }]);
    const repo = await repository({ maxConcurrentTasks: 2, writeRateLimit: 1024n * 1024n });
    const j = await job({
      connectionId: estate.connectionId,
      repositoryId: repo.id,
      objects: [{ type: 'vm', vmId: estate.vmIds.rb! }],
      schedule: { kind: 'manual' },
    });
    await controller();
    const session = { id: await startJob(j.id) };
    await waitFor('the VM to be reading', () => db.task.findFirst({ where: { sessionId: session.id, bytesRead: { gt: 0 } } }));
    await new Runs(db).requestStop(session.id, 'tester');
    const done = await ended(session.id);
    expect(done.status).toBe('cancelled');
    expect(done.tasks.every((t) => t.status === 'cancelled')).toBe(true);
    expect(await db.restorePoint.count({ where: { sessionId: session.id } })).toBe(0);
    expect(virshList('domjobinfo', `sblab-rb-${tag}`)).toMatch(/None/);
    expect(scratchLeftovers()).toEqual([]);
  });

  it('after a run, retention removes the points beyond the policy, then GC and a health check run as sessions', async () => {
    await movers([{ name: 'mv-ret', maxConcurrentTasks: 2 }]);
    const repo = await repository({ maxConcurrentTasks: 2 });
    const j = await job({
      connectionId: estate.connectionId,
      repositoryId: repo.id,
      objects: [{ type: 'vm', vmId: estate.vmIds.ra! }],
      schedule: { kind: 'manual' },
      retention: { keepPoints: 1 },
    });
    await controller();
    for (let run = 1; run <= 2; run++) await ended(await startJob(j.id));
    // The retention after the second run removes the first point, and the space reclamation it starts follows.
    const retention = await waitFor('the retention that removed a point', () =>
      db.session.findFirst({ where: { name: `Retention: ${repo.name}`, status: 'success', summary: { path: ['deleted'], equals: 1 } } }),
    );
    const gc = await waitFor('its space reclamation to end', () => db.session.findFirst({ where: { startKey: `gc-${retention.id}`, endedAt: { not: null } } }));
    expect(gc).toMatchObject({ status: 'success', name: `Space reclamation: ${repo.name}` });
    const points = await db.restorePoint.findMany({ where: { jobId: j.id } });
    expect(points).toHaveLength(1);
    expect(points[0]!.kind).toBe('incremental');
    expect(retention.kind).toBe('maintenance');

    await new Runs(db).startMaintenance({ repositoryId: repo.id, operation: 'verify', triggeredBy: 'test' });
    const verified = await waitFor(
      'the health check',
      async () =>
        (await db.backupRepository.findUniqueOrThrow({ where: { id: repo.id } })).lastVerifiedAt &&
        db.backupRepository.findUniqueOrThrow({ where: { id: repo.id } }),
    );
    expect(verified.lastVerifyResult).toMatchObject({ bad: 0 });
    expect((verified.lastVerifyResult as { chunksChecked: number }).chunksChecked).toBeGreaterThan(0);
  });

  it('a health check slowed to hours never delays a job start or its VMs, and stops when asked', async () => {
    const [mover] = await movers([{ name: 'mv-slow', maxConcurrentTasks: 1 }]);
    const repo = await repository({ maxConcurrentTasks: 1 });
    const j = await job({
      connectionId: estate.connectionId,
      repositoryId: repo.id,
      objects: [{ type: 'vm', vmId: estate.vmIds.ra! }],
      schedule: { kind: 'manual' },
    });
    await controller();
    // 8 MiB the guest writes at random, so that the store holds 8 chunks that do not compress.
    await estate.guests.ra!.guest.write('vda', 4096, 8192, 'random');
    expect((await ended(await startJob(j.id))).status).toBe('success');
    // 16 KiB/s over 8 MiB of chunks: a health check of nine minutes, as of hours on a large repository.
    await db.backupRepository.update({ where: { id: repo.id }, data: { readRateLimit: 16n * 1024n } });
    const runs = new Runs(db);
    const verify = await runs.startMaintenance({ repositoryId: repo.id, operation: 'verify', triggeredBy: 'test' });
    await waitFor('the health check to run', () => db.task.findFirst({ where: { sessionId: verify.sessionId!, status: 'running' } }));

    // With the mover's one slot and the repository's one slot free of it, the VM starts at once and the run ends.
    const sessionId = await startJob(j.id);
    const done = await ended(sessionId);
    expect(done.status).toBe('success');
    expect(done.tasks[0]!.moverId).toBe(mover!.id);
    expect(done.tasks[0]!.startedAt!.getTime() - done.startedAt.getTime()).toBeLessThan(15_000);
    expect((await db.session.findUniqueOrThrow({ where: { id: verify.sessionId! } })).status).toBe('running');
    // Its bar moves: the bytes checked of all the store's chunks, held back by the limit.
    const checking = await waitFor('figures of the health check, held back', () =>
      db.task.findFirst({ where: { sessionId: verify.sessionId!, bytesRead: { gt: 0 }, progress: { path: ['bottleneck'], equals: 'throttling' } } }),
    );
    expect((checking.progress as { totalBytes: number }).totalBytes).toBeGreaterThanOrEqual(8 * 2 ** 20);
    expect(Number(checking.bytesRead)).toBeLessThan((checking.progress as { totalBytes: number }).totalBytes);

    await runs.requestStop(verify.sessionId!, 'tester');
    const stopped = await ended(verify.sessionId!, 30_000);
    expect(stopped.status).toBe('cancelled');
    expect(stopped.tasks[0]!.error).toBe('stopped by a user');
    expect((await db.backupRepository.findUniqueOrThrow({ where: { id: repo.id } })).lastVerifiedAt).toBeNull();
  });

  it("emails the result of a run to a real SMTP server, to the global and the job's recipients, and not on a result the job skips", async () => {
    const sink = await startSmtpSink();
    const settings = new Settings(db);
    const before = await settings.get(SMTP_SETTING_KEY, smtpSettingsSchema);
    await settings.save(
      SMTP_SETTING_KEY,
      { enabled: true, host: '127.0.0.1', port: sink.port, security: 'none', from: 'strongbox@example.test', to: ['admin@example.test'] },
      before?.version ?? 0,
    );
    try {
      await movers([{ name: 'mv-mail', maxConcurrentTasks: 2 }]);
      const repo = await repository({ maxConcurrentTasks: 2 });
      const objects = [{ type: 'vm' as const, vmId: estate.vmIds.ra! }];
      const silent = await job({
        connectionId: estate.connectionId,
        repositoryId: repo.id,
        objects,
        schedule: { kind: 'manual' },
        options: { notify: { onSuccess: false } },
      });
      const j = await job({
        connectionId: estate.connectionId,
        repositoryId: repo.id,
        objects,
        schedule: { kind: 'manual' },
        options: { notify: { to: ['ops@example.test'] } },
      });
      const c = await controller();
      const quiet = await ended(await startJob(silent.id));
      expect(quiet.status).toBe('success');
      const done = await ended(await startJob(j.id));
      expect(done.status).toBe('success');
      const mail = await waitFor('the email', async () => sink.received.find((m) => m.raw.includes(j.name)), 30_000);
      expect(mail.to.sort()).toEqual(['admin@example.test', 'ops@example.test']);
      expect(mail.raw).toMatch(/Subject: \[Strongbox\] Success: /);
      expect(mail.raw).toContain(`sblab-ra-${tag}`);
      // The notification job of the silent run has finished by now (it was queued first).
      const handled = await waitFor("the silent run's notification to be handled", async () => {
        const q = await c.queues.queue(NOTIFY_QUEUE).getJob(`notify-${quiet.id}`);
        return q?.finishedOn ? q : null;
      });
      expect(handled.returnvalue).toEqual({ sent: false, reason: 'the job does not send on success' });
      expect(sink.received.some((m) => m.raw.includes(silent.name))).toBe(false);
    } finally {
      const now = await settings.get(SMTP_SETTING_KEY, smtpSettingsSchema);
      await settings.save(
        SMTP_SETTING_KEY,
        { enabled: false, host: '127.0.0.1', port: 25, security: 'none', from: 'strongbox@example.test', to: [] },
        now!.version,
      );
      await sink.close();
    }
  });
});
