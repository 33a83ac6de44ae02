import {
  ACTIVE_STATUSES,
  decideClose,
  isFinal,
  isStalled,
  NO_RETRIES,
  onMoverLost,
  parseColumn,
  retentionResultSchema,
  sessionRules,
  STALLED_AFTER_MS,
  taskRules,
  unitResultSchema,
  type Retries,
  type SessionId,
  type SessionKind,
} from '@strongbox/core';
import { NOTIFY_QUEUE } from '@strongbox/queue/catalog';
import { inTransaction, transaction, type Db } from '../client.js';
import { AppError } from '../errors.js';
import type { PrismaClient } from '../generated/client.js';
import { jobSelect, specOf } from '../jobs.js';
import { MOVER_OFFLINE_AFTER_MS } from '../movers.js';
import { applySessionChange, applyTaskChange } from './apply.js';
import { Outbox } from './outbox.js';
import { writeLog } from './read.js';
import { startBackup, startMaintenance } from './start.js';

async function retriesOf(db: Db, kind: string, jobId: string | null): Promise<Retries> {
  if (kind !== 'backup' || !jobId) return NO_RETRIES;
  const job = await db.backupJob.findUnique({ where: { id: jobId }, select: jobSelect });
  return job ? specOf(job).retries : NO_RETRIES;
}

const heldSelect = {
  sessionId: true,
  unit: true,
  attempt: true,
  excludedMoverIds: true,
  moverId: true,
  vm: { select: { name: true, externalId: true } },
  session: { select: { kind: true, name: true, jobId: true, repositoryId: true, stopRequested: true } },
} as const;

/** The units a mover holds (running, given to it), one entry per unit. */
export function unitsHeldBy(db: Db, moverIds: readonly string[]) {
  return db.task.findMany({ where: { status: 'running', moverId: { in: [...moverIds] } }, distinct: ['sessionId', 'unit'], select: heldSelect });
}
export type HeldUnit = Awaited<ReturnType<typeof unitsHeldBy>>[number];

/**
 * A unit whose mover's process died goes back to waiting, or is interrupted (core's
 * `onMoverLost`), with a line in its session's log. False when the unit was no longer the
 * mover's (it finished or was taken back meanwhile).
 */
const REASONS = {
  silent: (mover: string) => `mover ${mover} stopped answering (no heartbeat for ${MOVER_OFFLINE_AFTER_MS / 1000} s)`,
  restarted: (mover: string) => `mover ${mover} restarted while it ran this (its process had died)`,
  stalled: (mover: string) => `no sign of life from this on mover ${mover} for too long (its message was lost, or its work hung)`,
};

export async function reclaimUnit(
  db: Db,
  unit: HeldUnit,
  mover: { id: string; name: string },
  how: 'silent' | 'restarted' | 'stalled',
  now: Date,
): Promise<boolean> {
  const reason = REASONS[how](mover.name);
  const label = unit.session.kind === 'maintenance' ? unit.session.name : (unit.vm?.name ?? unit.unit);
  return inTransaction(db, 'runs.reclaim', async (tx) => {
    const retries = await retriesOf(tx, unit.session.kind, unit.session.jobId);
    const change = onMoverLost(unit, { retries, stopRequested: unit.session.stopRequested, moverId: mover.id, how, reason, now });
    if ((await applyTaskChange(tx, { sessionId: unit.sessionId, unit: unit.unit, moverId: mover.id }, change)) === 0) return false;
    const again = how === 'silent' ? 'retrying on another mover' : 'retrying';
    if (change.event === 'requeue') await writeLog(tx, unit.sessionId, 'warning', `${label}: ${reason}; ${again} (attempt ${unit.attempt + 1})`);
    else await writeLog(tx, unit.sessionId, 'error', `${label}: ${reason}`);
    return true;
  });
}

/** Each unit reclaimed from the mover that held it; returns how many were still theirs to take. */
async function reclaimEach(db: Db, units: readonly HeldUnit[], movers: readonly { id: string; name: string }[], how: 'silent' | 'stalled', now: Date) {
  let reclaimed = 0;
  for (const unit of units) {
    const mover = movers.find((m) => m.id === unit.moverId)!;
    if (await reclaimUnit(db, unit, mover, how, now)) reclaimed++;
  }
  return reclaimed;
}

/**
 * A mover that stopped heartbeating is dead: each unit it ran waits for another mover, or
 * is interrupted. What the dead mover left on the host (a backup job, an export, a
 * checkpoint) is released by the janitor every mover runs at its start and before it
 * opens a VM.
 */
export async function reclaimFromDeadMovers(db: PrismaClient, now: Date): Promise<number> {
  const dead = await db.mover.findMany({
    where: { lastHeartbeatAt: { lt: new Date(now.getTime() - MOVER_OFFLINE_AFTER_MS) } },
    select: { id: true, name: true },
  });
  if (dead.length === 0) return 0;
  const units = await unitsHeldBy(
    db,
    dead.map((m) => m.id),
  );
  return reclaimEach(db, units, dead, 'silent', now);
}

/**
 * Units that gave no sign of life for `stalledAfterMs` on a mover that still heartbeats:
 * their queue message was lost (a Redis restarted empty) or their work hung. They wait
 * again, as a dead mover's would; a hung mover's late writes are refused by their guards.
 */
export async function reclaimStalled(db: PrismaClient, now: Date, stalledAfterMs = STALLED_AFTER_MS): Promise<number> {
  const alive = await db.mover.findMany({
    where: { lastHeartbeatAt: { gte: new Date(now.getTime() - MOVER_OFFLINE_AFTER_MS) } },
    select: { id: true, name: true },
  });
  if (alive.length === 0) return 0;
  const signs = await db.task.groupBy({
    by: ['sessionId', 'unit'],
    where: { status: 'running', moverId: { in: alive.map((m) => m.id) } },
    _max: { lastProgressAt: true, startedAt: true },
  });
  const stalled = signs.filter((u) => {
    const last = [u._max.lastProgressAt, u._max.startedAt].filter((d): d is Date => d !== null).sort((a, b) => b.getTime() - a.getTime())[0];
    return last !== undefined && isStalled(last, now, stalledAfterMs);
  });
  const units = await Promise.all(
    stalled.map((u) => db.task.findFirst({ where: { sessionId: u.sessionId, unit: u.unit, status: 'running' }, select: heldSelect })),
  );
  return reclaimEach(
    db,
    units.filter((u): u is HeldUnit => u !== null),
    alive,
    'stalled',
    now,
  );
}

/** After a backup run closes: its email, the repository's retention, the jobs chained after it. */
async function afterBackup(tx: Db, session: { id: SessionId; jobId: string | null; repositoryId: string | null; disturbed: boolean }, status: string) {
  await new Outbox(tx).put('session.notify', { sessionId: session.id }, { queue: NOTIFY_QUEUE, jobId: `notify-${session.id}` });
  if (session.repositoryId) {
    await startMaintenance(tx, { repositoryId: session.repositoryId, operation: 'retention', triggeredBy: 'controller', startKey: `retention-${session.id}` });
    // An attempt that failed or whose process died leaves an unfinished point and a lease
    // behind; reclaim them now rather than whenever retention next deletes a point.
    if (session.disturbed) {
      await startMaintenance(tx, { repositoryId: session.repositoryId, operation: 'gc', triggeredBy: 'controller', startKey: `gc-after-${session.id}` });
    }
  }
  if (!session.jobId || !['success', 'warning'].includes(status)) return;
  const own = await tx.backupJob.findUnique({ where: { id: session.jobId }, select: jobSelect });
  if (own && session.repositoryId && specOf(own).options.indexGuestFiles) {
    // The job's option "Index guest files": its new points listed for search, as maintenance (no backup slot).
    await startMaintenance(tx, { repositoryId: session.repositoryId, operation: 'index', triggeredBy: 'controller', startKey: `index-${session.id}` });
  }
  const jobs = await tx.backupJob.findMany({ where: { enabled: true }, select: jobSelect });
  for (const job of jobs) {
    const spec = specOf(job);
    if (spec.schedule.kind !== 'after' || spec.schedule.jobId !== session.jobId) continue;
    const chained = await startBackup(tx, { jobId: job.id, trigger: 'chain', triggeredBy: 'schedule', startKey: `chain-${job.id}-${session.id}` });
    if (!chained.started) await writeLog(tx, session.id, 'warning', `${job.name}, chained after this job, did not start: ${chained.reason}`);
  }
}

/** After a retention closes: the space its deleted points held is reclaimed. */
async function afterRetention(tx: Db, session: { id: SessionId; repositoryId: string | null }, summary: unknown) {
  const result = retentionResultSchema.safeParse(summary);
  if (session.repositoryId && result.success && result.data.deleted > 0) {
    await startMaintenance(tx, { repositoryId: session.repositoryId, operation: 'gc', triggeredBy: 'controller', startKey: `gc-${session.id}` });
  }
}

/**
 * Every active session whose tasks have all ended: its failed units retried, or the
 * session closed with its result and what follows it (core's `decideClose`), each
 * session in one transaction of its own.
 */
export async function closeFinished(db: PrismaClient, now: Date): Promise<SessionId[]> {
  // A mount has no units: it closes when it ends (GuestMounts.finish), not when its tasks have.
  const open = await db.session.findMany({
    where: { status: { in: [...ACTIVE_STATUSES] }, kind: { not: 'mount' } },
    select: { id: true, tasks: { select: { status: true } } },
  });
  const closed: SessionId[] = [];
  for (const candidate of open) {
    if (candidate.tasks.some((t) => !isFinal(t.status))) continue;
    const id = candidate.id as SessionId;
    await transaction(
      'runs.close',
      async (tx) => {
        const session = await tx.session.findUniqueOrThrow({
          where: { id },
          select: {
            kind: true,
            name: true,
            status: true,
            jobId: true,
            repositoryId: true,
            stopRequested: true,
            warnings: true,
            startedAt: true,
            tasks: {
              select: {
                unit: true,
                status: true,
                attempt: true,
                excludedMoverIds: true,
                bytesRead: true,
                bytesTransferred: true,
                result: true,
                vm: { select: { name: true } },
              },
            },
          },
        });
        if (isFinal(session.status)) return;
        const kind = session.kind as SessionKind;
        const retries = await retriesOf(tx, kind, session.jobId);
        const decision = decideClose({
          kind,
          stopRequested: session.stopRequested,
          warnings: session.warnings,
          startedAt: session.startedAt,
          retries,
          now,
          tasks: session.tasks.map((t) => ({
            ...t,
            bytesRead: Number(t.bytesRead),
            bytesTransferred: Number(t.bytesTransferred),
            result: parseColumn(unitResultSchema, t.result, 'Task.result'),
          })),
        });
        if (decision.kind === 'wait') return;
        if (decision.kind === 'retry') {
          for (const unit of decision.units) {
            if ((await applyTaskChange(tx, { sessionId: id, unit: unit.unit }, unit.change)) === 0) continue;
            const label = session.tasks.find((t) => t.unit === unit.unit)?.vm?.name ?? unit.unit;
            await writeLog(tx, id, 'info', `${label}: retry ${unit.attempt} of ${retries.count} at ${decision.notBefore.toISOString()}`);
          }
          return;
        }
        if (!(await applySessionChange(tx, id, sessionRules.close(decision.status, decision.summary, now)))) return;
        const level = decision.status === 'success' ? 'info' : decision.status === 'warning' ? 'warning' : 'error';
        await writeLog(tx, id, level, `session ended: ${decision.status}`);
        closed.push(id);
        const disturbed = ['failed', 'cancelled', 'interrupted'].includes(decision.status) || session.tasks.some((t) => t.attempt > 1);
        if (kind === 'backup') await afterBackup(tx, { id, jobId: session.jobId, repositoryId: session.repositoryId, disturbed }, decision.status);
        else if (kind === 'restore') await new Outbox(tx).put('session.notify', { sessionId: id }, { queue: NOTIFY_QUEUE, jobId: `notify-${id}` });
        else if (session.tasks[0]?.unit === 'retention') await afterRetention(tx, { id, repositoryId: session.repositoryId }, decision.summary);
      },
      db,
    );
  }
  return closed;
}

/** Stop: the flag for the movers (they see it within a second), waiting units cancelled now. */
export async function requestStop(db: Db, id: SessionId, by: string, now = new Date()): Promise<void> {
  await inTransaction(db, 'runs.stop', async (tx) => {
    const session = await tx.session.findUnique({ where: { id }, select: { status: true } });
    if (!session) throw new AppError('NOT_FOUND', 'no such session');
    if (!(await applySessionChange(tx, id, sessionRules.stop()))) throw new AppError('CONFLICT', `the session has already ended (${session.status})`);
    const waiting = await tx.task.findMany({
      where: { sessionId: id, status: 'pending' },
      distinct: ['unit'],
      select: { unit: true, attempt: true, excludedMoverIds: true },
    });
    for (const unit of waiting) await applyTaskChange(tx, { sessionId: id, unit: unit.unit }, taskRules.cancel(unit, by, now));
    await writeLog(tx, id, 'warning', `stop requested by ${by}`);
  });
}

/** The session's email went out: a retried notification job sends it once. */
export async function markNotified(db: Db, id: string): Promise<void> {
  await db.session.updateMany({ where: { id }, data: { notifiedAt: new Date() } });
}
