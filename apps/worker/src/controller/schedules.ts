import { nextRun } from '@strongbox/core';
import { specOf, jobSelect, type PrismaClient } from '@strongbox/db';
import type { Queues } from '@strongbox/queue';

/**
 * Schedules are kept by the leader's tick, not by BullMQ job schedulers: a Strongbox
 * schedule is more than a cron line (backup windows that move a start to the next allowed
 * hour, "last day of the month", DST gaps in the job's own time zone, "after job X"), and
 * `nextRun` in core already computes all of it, table-tested. The next start is kept in
 * `BackupJob.nextRunAt`; a start is enqueued with a job id naming the job and that instant,
 * so two leaders, or a tick repeated after a crash, start it once. `now` is injected, so a
 * test fires a schedule without waiting for it.
 */
export async function fireSchedules(db: PrismaClient, queues: Queues, now: Date): Promise<string[]> {
  const jobs = await db.backupJob.findMany({ where: { enabled: true }, select: jobSelect });
  const fired: string[] = [];
  for (const job of jobs) {
    const spec = specOf(job);
    if (spec.schedule.kind === 'manual' || spec.schedule.kind === 'after') continue;
    if (job.nextRunAt && job.nextRunAt.getTime() <= now.getTime()) {
      await queues.add('job.run', { jobId: job.id, trigger: 'schedule', triggeredBy: 'schedule' }, { jobId: `schedule-${job.id}-${job.nextRunAt.getTime()}` });
      fired.push(job.id);
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

/** Health checks: each repository is verified every `verifyEveryDays`, once per period. */
export async function dueVerifies(db: PrismaClient, queues: Queues, now: Date): Promise<void> {
  const repositories = await db.repository.findMany({
    where: { verifyEveryDays: { gt: 0 } },
    select: { id: true, verifyEveryDays: true, lastVerifiedAt: true, createdAt: true },
  });
  for (const r of repositories) {
    const period = r.verifyEveryDays * 24 * 3600 * 1000;
    const last = (r.lastVerifiedAt ?? r.createdAt).getTime();
    if (now.getTime() - last < period) continue;
    await queues.add('repository.maintain', { repositoryId: r.id, kind: 'verify' }, { jobId: `verify-${r.id}-${Math.floor(now.getTime() / period)}` });
  }
}
