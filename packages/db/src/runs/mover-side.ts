import { rateShare, taskRules, type MoverId, type SessionId, type TaskProgressFigures, type UnitClaim, type UnitResult } from '@strongbox/core';
import { inTransaction, type Db } from '../client.js';
import type { Prisma } from '../generated/client.js';
import { applyTaskChange } from './apply.js';

/** A unit as the mover holds it: which session and unit, at which attempt, by whom. */
export type UnitHandle = { sessionId: SessionId; unit: string; attempt: number; moverId: MoverId };

const claimOf = (h: UnitHandle): UnitClaim => ({ attempt: h.attempt, moverId: h.moverId });
const unitWhere = (h: UnitHandle, taskIds?: readonly string[]): Prisma.TaskWhereInput => ({
  sessionId: h.sessionId,
  unit: h.unit,
  ...(taskIds ? { id: { in: [...taskIds] } } : {}),
});

/**
 * The unit's tasks, when this mover still holds it at this attempt; null for a stale
 * message (the unit was taken back, retried or stopped since it was sent), which the
 * mover then drops.
 */
export async function openUnit(db: Db, h: UnitHandle) {
  const tasks = await db.task.findMany({
    where: { ...unitWhere(h), status: 'running', moverId: h.moverId, attempt: h.attempt },
    orderBy: { diskName: 'asc' },
    select: { id: true, diskName: true, vmId: true },
  });
  if (tasks.length === 0) return null;
  const session = await db.session.findUniqueOrThrow({ where: { id: h.sessionId }, select: { kind: true, name: true, jobId: true, repositoryId: true } });
  return { tasks, session };
}

export const startDisk = (db: Db, h: UnitHandle, taskId: string, readMode: string, now = new Date()) =>
  applyTaskChange(db, unitWhere(h, [taskId]), taskRules.startDisk(claimOf(h), readMode, now));

/**
 * A disk's figures, every second. `current: false` when the unit is no longer this
 * mover's at this attempt (the controller took it back): the mover must stop. The
 * session's stop flag comes back in the same call.
 */
export async function recordFigures(
  db: Db,
  h: UnitHandle,
  taskId: string,
  figures: { bytesRead: number; bytesProcessed: number; bytesTransferred: number; bytesWritten: number; progress: TaskProgressFigures },
  at = new Date(),
): Promise<{ current: boolean; stopRequested: boolean }> {
  const changed = await applyTaskChange(db, unitWhere(h, [taskId]), taskRules.figures(claimOf(h), figures, at));
  const session = await db.session.findUnique({ where: { id: h.sessionId }, select: { stopRequested: true } });
  return { current: changed === 1, stopRequested: session?.stopRequested ?? true };
}

/**
 * For a unit that records no figures (maintenance), every second or so: it shows it is
 * alive (the stalled-unit rule reads it), and learns whether it is still this mover's and
 * whether a stop has been asked for.
 */
export async function unitStatus(db: Db, h: UnitHandle, at = new Date()): Promise<{ current: boolean; stopRequested: boolean }> {
  const touched = await applyTaskChange(db, unitWhere(h), taskRules.touch(claimOf(h), at));
  const session = await db.session.findUnique({ where: { id: h.sessionId }, select: { stopRequested: true } });
  return { current: touched > 0, stopRequested: session?.stopRequested ?? true };
}

export const finishDisk = (db: Db, h: UnitHandle, taskId: string, now = new Date()) =>
  applyTaskChange(db, unitWhere(h, [taskId]), taskRules.finishDisk(claimOf(h), now));

export type PublishedPoint = {
  repositoryId: string;
  vmId: string;
  vmName: string;
  jobId: string | null;
  time: Date;
  kind: string;
  path: string;
  disks: Prisma.InputJsonValue;
};

/**
 * A backup unit's end: the restore point entered in the catalog and the unit's tasks
 * finished, in one transaction. The point goes in even when the unit is no longer this
 * mover's — its manifest is committed, so it exists — and the answer says whether the
 * tasks were still its to finish.
 */
export async function publishPoint(
  db: Db,
  h: UnitHandle,
  point: PublishedPoint,
  status: 'success' | 'warning',
): Promise<{ current: boolean; pointId: string }> {
  return inTransaction(db, 'runs.publishPoint', async (tx) => {
    // Idempotent: a point found in the store and catalogued since (after a restart) is the same point.
    await tx.restorePoint.createMany({ data: [{ ...point, sessionId: h.sessionId }], skipDuplicates: true });
    const row = await tx.restorePoint.findUniqueOrThrow({
      where: { repositoryId_path: { repositoryId: point.repositoryId, path: point.path } },
      select: { id: true },
    });
    const finished = await applyTaskChange(tx, unitWhere(h), taskRules.finish(claimOf(h), { status }));
    return { current: finished > 0, pointId: row.id };
  });
}

/** A committed point as the store describes it (its manifest), for the catalog. */
export type StoredPoint = { id: string; time: string; kind: string; disks: Prisma.InputJsonValue; job: Record<string, unknown> | null };

/**
 * The catalog follows the store: points of one VM that the store holds and the catalog
 * lacks (a mover stopped between writing the manifest and recording it) are entered, with
 * the job and session their manifest names when those still exist. Returns the points
 * entered. Run before a VM's next backup and by retention, so that the console lists
 * them, retention counts them and the next point's parent is known.
 */
export async function catalogMissing(
  db: Db,
  repositoryId: string,
  vm: { id: string | null; name: string },
  points: readonly StoredPoint[],
): Promise<StoredPoint[]> {
  if (points.length === 0) return [];
  const known = new Set(
    (await db.restorePoint.findMany({ where: { repositoryId, path: { in: points.map((p) => p.id) } }, select: { path: true } })).map((r) => r.path),
  );
  const missing = points.filter((p) => !known.has(p.id));
  if (missing.length === 0) return [];
  // Only what looks like an id is looked up: a manifest is data from disk, not a trusted reference.
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const named = (key: string) => [...new Set(missing.flatMap((p) => (typeof p.job?.[key] === 'string' && uuid.test(p.job[key]) ? [p.job[key]] : [])))];
  const [jobs, sessions] = await Promise.all([
    db.backupJob.findMany({ where: { id: { in: named('jobId') } }, select: { id: true } }),
    db.session.findMany({ where: { id: { in: named('sessionId') } }, select: { id: true } }),
  ]);
  const alive = (rows: { id: string }[], value: unknown) => (typeof value === 'string' && rows.some((r) => r.id === value) ? value : null);
  await db.restorePoint.createMany({
    data: missing.map((p) => ({
      repositoryId,
      vmId: vm.id,
      vmName: typeof p.job?.vmName === 'string' ? p.job.vmName : vm.name,
      jobId: alive(jobs, p.job?.jobId),
      sessionId: alive(sessions, p.job?.sessionId),
      time: new Date(p.time),
      kind: p.kind,
      path: p.id,
      disks: p.disks,
    })),
    skipDuplicates: true,
  });
  return missing;
}

/** A unit without disks (maintenance) ends with its result. */
export const finishUnit = (db: Db, h: UnitHandle, outcome: { status: 'success' | 'warning' | 'failed'; result: UnitResult }, now = new Date()) =>
  applyTaskChange(db, unitWhere(h), taskRules.finish(claimOf(h), { ...outcome, endedAt: now }));

/** The mover gave up on the unit: a stop it saw (cancelled) or an error (failed). */
export const failUnit = (db: Db, h: UnitHandle, outcome: { cancelled: boolean; reason: string }, now = new Date()) =>
  applyTaskChange(db, unitWhere(h), taskRules.fail(claimOf(h), outcome, now));

/**
 * The repository's write-rate limit, read again at each call (an administrator may
 * change it during a run), shared by the backup units writing to it now.
 */
export async function writeRateShare(db: Db, repositoryId: string): Promise<number | null> {
  const repository = await db.backupRepository.findUniqueOrThrow({ where: { id: repositoryId }, select: { writeRateLimit: true } });
  if (repository.writeRateLimit === null) return null;
  const running = await db.task.findMany({
    where: { status: 'running', session: { kind: 'backup', repositoryId } },
    distinct: ['sessionId', 'unit'],
    select: { id: true },
  });
  return rateShare(Number(repository.writeRateLimit), running.length);
}

/**
 * The repository's read-rate limit, shared by the restore units reading from it now (a
 * health check, which reads too, runs under the whole limit on its own: it is maintenance).
 */
export async function readRateShare(db: Db, repositoryId: string): Promise<number | null> {
  const repository = await db.backupRepository.findUniqueOrThrow({ where: { id: repositoryId }, select: { readRateLimit: true } });
  if (repository.readRateLimit === null) return null;
  const running = await db.task.findMany({
    where: { status: 'running', session: { kind: 'restore', repositoryId } },
    distinct: ['sessionId', 'unit'],
    select: { id: true },
  });
  return rateShare(Number(repository.readRateLimit), running.length);
}

/**
 * An in-place restore that failed leaves the VM's disks neither old nor restored: the VM's
 * inventory row says so (null clears it, after a restore of it that succeeded).
 */
export async function markRestoreFailure(db: Db, vmId: string, failure: string | null): Promise<void> {
  await db.vm.updateMany({ where: { id: vmId }, data: { restoreFailure: failure } });
}

/** A point retention removed from the store leaves the catalog too. */
export async function removePoint(db: Db, pointId: string): Promise<void> {
  await db.restorePoint.deleteMany({ where: { id: pointId } });
}
