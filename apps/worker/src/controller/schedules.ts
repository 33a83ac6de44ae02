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

/** Space reclamation runs at least this often on a repository with points (and after runs that left debris). */
export const GC_EVERY_MS = 24 * 60 * 60 * 1000;

/** Maintenance starts whose key is already taken are not tried again: one query instead of a transaction each. */
async function startMissing(db: PrismaClient, starts: { repositoryId: string; operation: 'verify' | 'gc'; startKey: string }[]): Promise<void> {
  if (starts.length === 0) return;
  const taken = new Set(
    (await db.session.findMany({ where: { startKey: { in: starts.map((s) => s.startKey) } }, select: { startKey: true } })).map((s) => s.startKey),
  );
  const runs = new Runs(db);
  for (const start of starts.filter((s) => !taken.has(s.startKey))) await runs.startMaintenance({ ...start, triggeredBy: 'schedule' });
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
  const due = repositories.flatMap((r) => {
    const period = r.verifyEveryDays * 24 * 3600 * 1000;
    const last = (r.lastVerifiedAt ?? r.createdAt).getTime();
    return now.getTime() - last < period
      ? []
      : [{ repositoryId: r.id, operation: 'verify' as const, startKey: `verify-${r.id}-${Math.floor(now.getTime() / period)}` }];
  });
  await startMissing(db, due);
}

/** Daily space reclamation, so that the debris of a killed writer never waits for retention to delete a point. */
export async function dueGcs(db: PrismaClient, now: Date): Promise<void> {
  const repositories = await db.backupRepository.findMany({ where: { restorePoints: { some: {} } }, select: { id: true } });
  const day = Math.floor(now.getTime() / GC_EVERY_MS);
  await startMissing(
    db,
    repositories.map((r) => ({ repositoryId: r.id, operation: 'gc' as const, startKey: `gc-${r.id}-day-${day}` })),
  );
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
