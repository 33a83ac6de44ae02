import { randomUUID } from 'node:crypto';
import { ACTIVE_STATUSES, MAINTENANCE_NAMES, openingStatus, planRun, type InventoryVm, type MaintenanceOperation, type SessionId } from '@strongbox/core';
import { inTransaction, type Db } from '../client.js';
import type { Prisma } from '../generated/client.js';
import { jobSelect, specOf } from '../jobs.js';

export type BackupTrigger = 'schedule' | 'user' | 'api' | 'chain' | 'retry' | 'quick';

const TRIGGER_NAMES: Record<BackupTrigger, string> = {
  schedule: 'Scheduled',
  user: 'Manual',
  api: 'API',
  chain: 'After another job',
  retry: 'Retry',
  quick: 'Quick backup',
};

export type BackupStart = {
  jobId: string;
  trigger: BackupTrigger;
  triggeredBy: string;
  /** Only these VMs (a retry of failed VMs, a Quick backup); all of the job's when absent. */
  onlyVmIds?: readonly string[] | undefined;
  retryOfSessionId?: string | undefined;
  /** A second start with the same key finds the first (a schedule's instant, a chain). */
  startKey?: string | undefined;
};

/** Why a start made no session: what it names is gone, the job runs already, or this very start was made before. */
export type NotStarted = { started: false; why: 'gone' | 'running' | 'made-already'; sessionId: SessionId | null; reason: string };
export type StartResult = { started: true; sessionId: SessionId } | NotStarted;

/**
 * A session row, unless the database says it exists already: a start with the same key,
 * or (the partial unique index) an active run of the same job. `ON CONFLICT DO NOTHING`
 * rather than a caught error, so that a caller's transaction goes on after a refusal.
 */
async function insertSession(tx: Db, data: Prisma.SessionCreateManyInput): Promise<boolean> {
  const created = await tx.session.createManyAndReturn({ data: [data], skipDuplicates: true, select: { id: true } });
  return created.length === 1;
}

async function existing(tx: Db, startKey: string | undefined, activeOfJob: string | null): Promise<{ id: SessionId; byKey: boolean } | null> {
  if (startKey) {
    const byKey = await tx.session.findUnique({ where: { startKey }, select: { id: true } });
    if (byKey) return { id: byKey.id as SessionId, byKey: true };
  }
  if (!activeOfJob) return null;
  const active = await tx.session.findFirst({ where: { jobId: activeOfJob, kind: 'backup', status: { in: [...ACTIVE_STATUSES] } }, select: { id: true } });
  return active ? { id: active.id as SessionId, byKey: false } : null;
}

/**
 * A job run: its objects resolved now against the inventory into one task per VM disk,
 * the session, its tasks and its first log lines in one transaction. The session id is
 * the answer: the session page is there at once, and the controller's next round hands
 * its VMs to movers. A job runs once at a time, as in Veeam: a start while it runs makes
 * no second session and names the running one.
 */
export async function startBackup(db: Db, input: BackupStart): Promise<StartResult> {
  return inTransaction(db, 'runs.startBackup', async (tx) => {
    const job = await tx.backupJob.findUnique({ where: { id: input.jobId }, select: jobSelect });
    if (!job) return { started: false, why: 'gone', sessionId: null, reason: 'the job no longer exists' };
    const spec = specOf(job);
    const rows = await tx.vm.findMany({
      where: { connectionId: spec.connectionId },
      select: { id: true, name: true, hostId: true, removed: true, disks: { select: { name: true, sizeBytes: true }, orderBy: { name: 'asc' } } },
    });
    const vms: InventoryVm[] = rows.map((vm) => ({ ...vm, disks: vm.disks.map((d) => ({ name: d.name, sizeBytes: Number(d.sizeBytes) })) }));
    const plan = planRun(spec.objects, vms, input.onlyVmIds);
    const opening = openingStatus(plan.tasks.length);
    const id = randomUUID() as SessionId;
    const made = await insertSession(tx, {
      id,
      kind: 'backup',
      jobId: job.id,
      repositoryId: spec.repositoryId,
      retryOfSessionId: input.retryOfSessionId ?? null,
      startKey: input.startKey ?? null,
      name: `${job.name} (${TRIGGER_NAMES[input.trigger]})`,
      triggeredBy: input.triggeredBy,
      status: opening.status,
      endedAt: opening.ended ? new Date() : null,
      warnings: plan.warnings.length,
    });
    if (!made) {
      const first = await existing(tx, input.startKey, job.id);
      if (first?.byKey) return { started: false, why: 'made-already', sessionId: first.id, reason: 'this start was made already' };
      // The run that held the job may have ended since the insert found it: it is named when it is still there.
      return {
        started: false,
        why: 'running',
        sessionId: first?.id ?? null,
        reason: first ? `the job is already running (session ${first.id})` : 'the job was running',
      };
    }
    await tx.task.createMany({
      data: plan.tasks.map((t) => ({ sessionId: id, unit: t.vmId, vmId: t.vmId, diskName: t.diskName, bytesTotal: BigInt(t.sizeBytes) })),
    });
    await tx.sessionLog.createMany({
      data: [
        { sessionId: id, level: 'info' as const, message: `started by ${input.triggeredBy}: ${plan.tasks.length} disk(s) to process` },
        ...plan.warnings.map((message) => ({ sessionId: id, level: 'warning' as const, message })),
        ...(plan.tasks.length === 0 ? [{ sessionId: id, level: 'error' as const, message: 'nothing to back up' }] : []),
      ],
    });
    return { started: true, sessionId: id };
  });
}

/**
 * Retention, GC or a health check of one repository: a session with one unit, which the
 * controller's round gives to a mover that sees the store. Idempotent on `startKey`.
 */
export async function startMaintenance(
  db: Db,
  input: { repositoryId: string; operation: MaintenanceOperation; triggeredBy: string; startKey?: string | undefined },
): Promise<StartResult> {
  return inTransaction(db, 'runs.startMaintenance', async (tx) => {
    const repository = await tx.backupRepository.findUnique({ where: { id: input.repositoryId }, select: { id: true, name: true } });
    if (!repository) return { started: false, why: 'gone', sessionId: null, reason: 'the repository no longer exists' };
    const id = randomUUID() as SessionId;
    const made = await insertSession(tx, {
      id,
      kind: 'maintenance',
      repositoryId: repository.id,
      startKey: input.startKey ?? null,
      name: `${MAINTENANCE_NAMES[input.operation]}: ${repository.name}`,
      triggeredBy: input.triggeredBy,
      status: 'pending',
    });
    if (!made) {
      const first = await existing(tx, input.startKey, null);
      return { started: false, why: 'made-already', sessionId: first?.id ?? null, reason: 'this start was made already' };
    }
    await tx.task.create({ data: { sessionId: id, unit: input.operation } });
    return { started: true, sessionId: id };
  });
}
