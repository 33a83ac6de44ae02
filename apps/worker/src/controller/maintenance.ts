import type { Logger } from 'pino';
import { selectPointsToDelete } from '@strongbox/core';
import { specOf, jobSelect, type PrismaClient } from '@strongbox/db';
import type { Payload, Queues } from '@strongbox/queue';
import { openRepository } from '../mover/run-vm.js';

type Kind = Payload<'repository.maintain'>['kind'];

/** Maintenance shows in the sessions list as a run of its own, with its log. */
async function maintenanceSession<T>(
  db: PrismaClient,
  name: string,
  work: (log: (level: 'info' | 'warning' | 'error', message: string) => Promise<void>) => Promise<{ status: 'success' | 'warning' | 'failed'; summary: T }>,
) {
  const session = await db.session.create({ data: { kind: 'maintenance', name, triggeredBy: 'controller', status: 'running' }, select: { id: true } });
  const log = async (level: 'info' | 'warning' | 'error', message: string) => {
    await db.sessionLog.create({ data: { sessionId: session.id, level, message } });
  };
  try {
    const { status, summary } = await work(log);
    await db.session.update({ where: { id: session.id }, data: { status, endedAt: new Date(), summary: summary as object } });
    return summary;
  } catch (error) {
    await log('error', error instanceof Error ? error.message : String(error));
    await db.session.update({ where: { id: session.id }, data: { status: 'failed', endedAt: new Date() } });
    throw error;
  }
}

/**
 * Retention (each job's policy, per VM, in the job's time zone), garbage collection and
 * health checks of one repository. The catalog rows follow what the repository holds.
 */
export async function maintainRepository(db: PrismaClient, queues: Queues, repositoryId: string, kind: Kind, now: Date, logger: Logger) {
  const row = await db.repository.findUnique({ where: { id: repositoryId } });
  if (!row) return { skipped: 'the repository no longer exists' };
  const repo = await openRepository(row.path);
  if (kind === 'retention') {
    return maintenanceSession(db, `Retention: ${row.name}`, async (log) => {
      const jobs = await db.backupJob.findMany({ where: { repositoryId }, select: jobSelect });
      let deleted = 0;
      for (const job of jobs) {
        const spec = specOf(job);
        const points = await db.restorePoint.findMany({
          where: { repositoryId, jobId: job.id },
          select: { id: true, vmId: true, vmName: true, time: true, path: true },
        });
        const byVm = new Map<string, typeof points>();
        for (const p of points) byVm.set(p.vmId ?? p.vmName, [...(byVm.get(p.vmId ?? p.vmName) ?? []), p]);
        for (const group of byVm.values()) {
          const { delete: doomed } = selectPointsToDelete(
            group.map((p) => ({ id: p.id, time: p.time })),
            spec.retention,
            now,
            spec.timeZone,
          );
          for (const id of doomed) {
            const point = group.find((p) => p.id === id)!;
            await repo.deletePoint(point.path);
            await db.restorePoint.delete({ where: { id } });
            await log('info', `${point.vmName}: restore point of ${point.time.toISOString()} removed by the retention of job ${job.name}`);
            deleted++;
          }
        }
      }
      if (deleted > 0) await queues.add('repository.maintain', { repositoryId, kind: 'gc' }, { jobId: `gc-${repositoryId}-${now.getTime()}` });
      await log('info', `${deleted} restore point(s) removed`);
      return { status: 'success', summary: { deleted } };
    });
  }
  if (kind === 'gc') {
    return maintenanceSession(db, `Space reclamation: ${row.name}`, async (log) => {
      const report = await repo.gc();
      await log(
        'info',
        `${report.chunksDeleted} unreferenced chunk(s) removed, ${(report.bytesFreed / 2 ** 20).toFixed(1)} MiB freed; ${report.keptYoung} kept for live writers`,
      );
      return { status: 'success', summary: report };
    });
  }
  return maintenanceSession(db, `Health check: ${row.name}`, async (log) => {
    const report = await repo.verify();
    for (const bad of report.bad) await log('error', `chunk ${bad.digest.slice(0, 16)}… ${bad.problem}; breaks ${bad.points.join(', ')}`);
    await log(report.bad.length ? 'error' : 'info', `${report.chunksChecked} chunk(s) checked, ${report.bad.length} bad`);
    const result = { chunksChecked: report.chunksChecked, bad: report.bad.length };
    await db.repository.update({ where: { id: repositoryId }, data: { lastVerifiedAt: now, lastVerifyResult: result } });
    logger.info({ repositoryId, ...result }, 'repository verified');
    return { status: report.bad.length ? 'failed' : 'success', summary: result };
  });
}
