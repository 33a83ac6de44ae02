import { planRun, type InventoryVm } from '@strongbox/core';
import { RunRepository, specOf, jobSelect, type PrismaClient } from '@strongbox/db';
import type { Payload } from '@strongbox/queue';

const ACTIVE = ['pending', 'running'] as const;

const TRIGGER_NAMES: Record<Payload<'job.run'>['trigger'], string> = {
  schedule: 'Scheduled',
  user: 'Manual',
  api: 'API',
  chain: 'After another job',
  retry: 'Retry',
  quick: 'Quick backup',
};

/**
 * Flow step 2: a job run becomes a session with one task per VM disk, objects resolved
 * now against the inventory. A job runs once at a time, as in Veeam: a start while a run
 * is active makes no second session.
 */
export async function startRun(db: PrismaClient, payload: Payload<'job.run'>): Promise<{ sessionId: string | null; reason?: string }> {
  const job = await db.backupJob.findUnique({ where: { id: payload.jobId }, select: jobSelect });
  if (!job) return { sessionId: null, reason: 'the job no longer exists' };
  const active = await db.session.findFirst({ where: { jobId: job.id, status: { in: [...ACTIVE] } }, select: { id: true } });
  if (active) return { sessionId: null, reason: `the job is already running (session ${active.id})` };
  const spec = specOf(job);
  const rows = await db.vm.findMany({
    where: { connectionId: spec.connectionId },
    select: { id: true, name: true, hostId: true, removed: true, disks: { select: { name: true, sizeBytes: true }, orderBy: { name: 'asc' } } },
  });
  const vms: InventoryVm[] = rows.map((vm) => ({ ...vm, disks: vm.disks.map((d) => ({ name: d.name, sizeBytes: Number(d.sizeBytes) })) }));
  const plan = planRun(spec.objects, vms, payload.onlyVmIds);
  const session = await new RunRepository(db).createSession({
    jobId: job.id,
    name: `${job.name} (${TRIGGER_NAMES[payload.trigger]})`,
    triggeredBy: payload.triggeredBy,
    tasks: plan.tasks,
    warnings: plan.warnings,
  });
  return { sessionId: session.id };
}
