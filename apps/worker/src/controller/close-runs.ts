import { isFinal, rollUp, type RunStatus } from '@strongbox/core';
import { MOVER_OFFLINE_AFTER_MS, RunRepository, specOf, jobSelect, type PrismaClient } from '@strongbox/db';
import type { Queues } from '@strongbox/queue';

type UnitTask = { id: string; vmId: string | null; status: RunStatus; attempt: number; vm: { name: string } | null };

function byVm<T extends UnitTask>(tasks: readonly T[]): Map<string, T[]> {
  const units = new Map<string, T[]>();
  for (const t of tasks) if (t.vmId) units.set(t.vmId, [...(units.get(t.vmId) ?? []), t]);
  return units;
}

async function retriesOf(db: PrismaClient, jobId: string | null) {
  const job = jobId ? await db.backupJob.findUnique({ where: { id: jobId }, select: jobSelect }) : null;
  return job ? specOf(job).retries : { count: 0, waitMinutes: 10 };
}

/**
 * A mover that stopped heartbeating is dead: its VMs go back to waiting, never to it
 * again, while the job's retries last; past them they fail with the reason. What the dead
 * mover left on the host (backup job, export, checkpoint) is released by the janitor that
 * every mover runs before it opens a VM.
 */
export async function reclaimFromDeadMovers(db: PrismaClient, now: Date): Promise<number> {
  const dead = await db.mover.findMany({
    where: { lastHeartbeatAt: { lt: new Date(now.getTime() - MOVER_OFFLINE_AFTER_MS) } },
    select: { id: true, name: true },
  });
  if (dead.length === 0) return 0;
  const tasks = await db.task.findMany({
    where: { status: 'running', moverId: { in: dead.map((m) => m.id) } },
    select: {
      id: true,
      vmId: true,
      status: true,
      attempt: true,
      moverId: true,
      sessionId: true,
      vm: { select: { name: true } },
      session: { select: { jobId: true, stopRequested: true } },
    },
  });
  const runs = new RunRepository(db);
  let reclaimed = 0;
  for (const unit of byVm(tasks).values()) {
    const first = unit[0]!;
    const mover = dead.find((m) => m.id === first.moverId)!;
    const retries = await retriesOf(db, first.session.jobId);
    const reason = `mover ${mover.name} stopped answering (no heartbeat for ${MOVER_OFFLINE_AFTER_MS / 1000} s)`;
    const ids = unit.map((t) => t.id);
    if (first.attempt <= retries.count && !first.session.stopRequested) {
      await db.task.updateMany({
        where: { id: { in: ids }, status: 'running' },
        data: {
          status: 'pending',
          attempt: { increment: 1 },
          moverId: null,
          excludedMoverIds: { push: mover.id },
          progress: { set: null },
          bytesRead: 0,
          bytesProcessed: 0,
          bytesTransferred: 0,
          bytesWritten: 0,
        },
      });
      await runs.log(first.sessionId, 'warning', `${first.vm?.name}: ${reason}; retrying on another mover (attempt ${first.attempt + 1})`);
    } else {
      await db.task.updateMany({ where: { id: { in: ids }, status: 'running' }, data: { status: 'failed', endedAt: now, error: reason } });
      await runs.log(first.sessionId, 'error', `${first.vm?.name}: ${reason}`);
    }
    reclaimed++;
  }
  return reclaimed;
}

/**
 * Flow step 7: a session whose tasks have all ended either retries its failed VMs (the
 * job's retry count, after its wait) or closes: its result rolled up, then notification,
 * retention and the jobs chained after it.
 */
export async function closeRuns(db: PrismaClient, queues: Queues, now: Date): Promise<string[]> {
  const open = await db.session.findMany({
    where: { status: { in: ['pending', 'running'] } },
    select: {
      id: true,
      jobId: true,
      warnings: true,
      stopRequested: true,
      startedAt: true,
      job: { select: { repositoryId: true } },
      tasks: { select: { id: true, vmId: true, status: true, attempt: true, vm: { select: { name: true } }, bytesRead: true, bytesTransferred: true } },
    },
  });
  const runs = new RunRepository(db);
  const closed: string[] = [];
  for (const session of open) {
    if (session.tasks.some((t) => !isFinal(t.status))) continue;
    const retries = await retriesOf(db, session.jobId);
    const failedVms = [...byVm(session.tasks).values()].filter((unit) => unit.some((t) => t.status === 'failed'));
    const retry = session.stopRequested ? [] : failedVms.filter((unit) => unit[0]!.attempt <= retries.count);
    if (retry.length > 0) {
      const notBefore = new Date(now.getTime() + retries.waitMinutes * 60_000);
      for (const unit of retry) {
        await db.task.updateMany({
          where: { id: { in: unit.map((t) => t.id) } },
          data: { status: 'pending', attempt: { increment: 1 }, notBefore, moverId: null, endedAt: null, progress: { set: null } },
        });
        await runs.log(session.id, 'info', `${unit[0]!.vm?.name}: retry ${unit[0]!.attempt} of ${retries.count} at ${notBefore.toISOString()}`);
      }
      continue;
    }
    const status = rollUp(
      session.tasks.map((t) => t.status),
      session.warnings,
    );
    const vmResults = [...byVm(session.tasks).values()].map((unit) => rollUp(unit.map((t) => t.status)));
    const summary = {
      vms: vmResults.length,
      success: vmResults.filter((r) => r === 'success').length,
      warning: vmResults.filter((r) => r === 'warning').length,
      failed: vmResults.filter((r) => r !== 'success' && r !== 'warning').length,
      bytesRead: session.tasks.reduce((n, t) => n + Number(t.bytesRead), 0),
      bytesTransferred: session.tasks.reduce((n, t) => n + Number(t.bytesTransferred), 0),
      durationMs: now.getTime() - session.startedAt.getTime(),
    };
    const { count } = await db.session.updateMany({
      where: { id: session.id, status: { in: ['pending', 'running'] } },
      data: { status, endedAt: now, summary },
    });
    if (count === 0) continue;
    await runs.log(session.id, status === 'success' ? 'info' : status === 'warning' ? 'warning' : 'error', `session ended: ${status}`);
    closed.push(session.id);
    await queues.add('session.notify', { sessionId: session.id }, { jobId: `notify-${session.id}` });
    if (session.job)
      await queues.add('repository.maintain', { repositoryId: session.job.repositoryId, kind: 'retention' }, { jobId: `retention-${session.id}` });
    if (session.jobId && ['success', 'warning'].includes(status)) await startChained(db, queues, session.jobId, session.id);
  }
  return closed;
}

async function startChained(db: PrismaClient, queues: Queues, jobId: string, sessionId: string) {
  const jobs = await db.backupJob.findMany({ where: { enabled: true }, select: { id: true, schedule: true } });
  for (const job of jobs) {
    const when = job.schedule as { schedule?: { kind: string; jobId?: string } };
    if (when.schedule?.kind === 'after' && when.schedule.jobId === jobId) {
      await queues.add('job.run', { jobId: job.id, trigger: 'chain', triggeredBy: 'schedule' }, { jobId: `chain-${job.id}-${sessionId}` });
    }
  }
}
