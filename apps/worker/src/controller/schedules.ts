import type { Logger } from 'pino';
import { nextRun } from '@strongbox/core';
import { jobSelect, Runs, specOf, type PrismaClient } from '@strongbox/db';
import type { Queues } from '@strongbox/queue';

/** Inventory is re-read this often, and on demand. */
export const RESCAN_EVERY_MS = 4 * 60 * 60 * 1000;

/**
 * Schedules are kept by the leader's tick, not by BullMQ job schedulers: a Strongbox
 * schedule is more than a cron line (backup windows that move a start to the next allowed
 * hour, "last day of the month", DST gaps in the job's own time zone, "after job X"), and
 * `nextRun` in core already computes all of it, table-tested. The next start is kept in
 * `BackupJob.nextRunAt`; a start's key names the job and that instant, so two leaders, or
 * a tick repeated after a crash, start it once. `now` is injected, so a test fires a
 * schedule without waiting for it.
 */
export async function fireSchedules(db: PrismaClient, now: Date, log: Logger): Promise<string[]> {
  const jobs = await db.backupJob.findMany({ where: { enabled: true }, select: jobSelect });
  const runs = new Runs(db);
  const fired: string[] = [];
  for (const job of jobs) {
    const spec = specOf(job);
    if (spec.schedule.kind === 'manual' || spec.schedule.kind === 'after') continue;
    if (job.nextRunAt && job.nextRunAt.getTime() <= now.getTime()) {
      const start = await runs.startBackup({
        jobId: job.id,
        trigger: 'schedule',
        triggeredBy: 'schedule',
        startKey: `schedule-${job.id}-${job.nextRunAt.getTime()}`,
      });
      if (start.started) fired.push(job.id);
      else log.info({ jobId: job.id, reason: start.reason }, 'scheduled run not started');
    }
    if (!job.nextRunAt || job.nextRunAt.getTime() <= now.getTime()) {
      const next = nextRun(spec.schedule, now, spec.timeZone, spec.window);
      // The version is left alone: keeping the next start is not an edit of the job.
      await db.backupJob.updateMany({ where: { id: job.id, version: job.version }, data: { nextRunAt: next } });
    }
  }
  // A disabled or manual job has no next start to show.
  await db.backupJob.updateMany({ where: { enabled: false, nextRunAt: { not: null } }, data: { nextRunAt: null } });
  return fired;
}

/**
 * Health checks: each repository that holds restore points is verified every
 * `verifyEveryDays`, once per period (the start key names the period). A repository with
 * no point has nothing to check, and may have no store yet.
 */
export async function dueVerifies(db: PrismaClient, now: Date): Promise<void> {
  const repositories = await db.backupRepository.findMany({
    where: { verifyEveryDays: { gt: 0 }, restorePoints: { some: {} } },
    select: { id: true, verifyEveryDays: true, lastVerifiedAt: true, createdAt: true },
  });
  const runs = new Runs(db);
  for (const r of repositories) {
    const period = r.verifyEveryDays * 24 * 3600 * 1000;
    const last = (r.lastVerifiedAt ?? r.createdAt).getTime();
    if (now.getTime() - last < period) continue;
    await runs.startMaintenance({
      repositoryId: r.id,
      operation: 'verify',
      triggeredBy: 'schedule',
      startKey: `verify-${r.id}-${Math.floor(now.getTime() / period)}`,
    });
  }
}

export async function dueRescans(db: PrismaClient, queues: Queues, now: Date): Promise<void> {
  const due = await db.hypervisorConnection.findMany({
    where: { OR: [{ lastRescanAt: null }, { lastRescanAt: { lt: new Date(now.getTime() - RESCAN_EVERY_MS) } }] },
    select: { id: true },
  });
  const bucket = Math.floor(now.getTime() / RESCAN_EVERY_MS);
  for (const { id } of due) {
    // One rescan per connection per period, however many controllers or ticks ask.
    await queues.add('inventory.rescan', { connectionId: id }, { jobId: `rescan-${id}-${bucket}` });
  }
}
