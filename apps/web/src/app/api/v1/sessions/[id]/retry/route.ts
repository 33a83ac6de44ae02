import { NextResponse } from 'next/server';
import { AppError, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { queues } from '@/server/queues';
import { pathId } from '@/server/schemas';

/** Run the job again for the VMs that failed in this session. */
export const POST = apiRoute<undefined, { id: string }>({ permission: 'jobs.run' }, async ({ params, actor, audit }) => {
  const id = pathId(params.id, 'session');
  const session = await prisma().session.findUnique({ where: { id }, select: { jobId: true, endedAt: true, tasks: { select: { vmId: true, status: true } } } });
  if (!session) throw new AppError('NOT_FOUND', 'no such session');
  if (!session.jobId) throw new AppError('CONFLICT', 'this session belongs to no job');
  if (!session.endedAt) throw new AppError('CONFLICT', 'the session is still running');
  const failed = [...new Set(session.tasks.filter((t) => ['failed', 'interrupted', 'cancelled'].includes(t.status) && t.vmId).map((t) => t.vmId!))];
  if (failed.length === 0) throw new AppError('CONFLICT', 'no VM failed in this session');
  const queued = await queues().add('job.run', { jobId: session.jobId, trigger: 'retry', triggeredBy: actor.email, onlyVmIds: failed, retryOfSessionId: id });
  await audit('session.retry', 'session', id, { vms: failed.length });
  return NextResponse.json({ queued: true, runId: queued.id, vms: failed.length }, { status: 202 });
});
