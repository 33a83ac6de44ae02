import { NextResponse } from 'next/server';
import { AppError, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { startBackupRun } from '@/server/runs-service';
import { pathId } from '@/server/schemas';

/**
 * Quick backup, as Veeam's: an incremental of one VM now, by the job that made its latest
 * restore point (the chain continues there); a VM no job has backed up yet has none.
 */
export const POST = apiRoute<undefined, { id: string }>({ permission: 'jobs.run' }, async ({ params, actor, audit }) => {
  const vmId = pathId(params.id, 'VM');
  const vm = await prisma().vm.findUnique({ where: { id: vmId }, select: { name: true } });
  if (!vm) throw new AppError('NOT_FOUND', 'no such VM');
  const latest = await prisma().restorePoint.findFirst({ where: { vmId, jobId: { not: null } }, orderBy: { time: 'desc' }, select: { jobId: true } });
  if (!latest?.jobId) throw new AppError('CONFLICT', `no job has backed up ${vm.name} yet: run a job with it first`);
  const { sessionId } = await startBackupRun({ jobId: latest.jobId, trigger: 'quick', triggeredBy: actor.email, onlyVmIds: [vmId] });
  await audit('vm.quick-backup', 'vm', vmId, { jobId: latest.jobId, sessionId });
  return NextResponse.json({ sessionId, jobId: latest.jobId }, { status: 202 });
});
