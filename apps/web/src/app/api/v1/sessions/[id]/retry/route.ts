import { NextResponse } from 'next/server';
import { AppError, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { startBackupRun } from '@/server/runs-service';
import { sessionPathId } from '@/server/schemas';

/** Runs the job again for the VMs that did not succeed in this session; 202 with the new session's id. */
export const POST = apiRoute<undefined, { id: string }>({ permission: 'jobs.run' }, async ({ params, actor, audit }) => {
  const id = sessionPathId(params.id);
  const session = await prisma().session.findUnique({ where: { id }, select: { jobId: true, endedAt: true, tasks: { select: { vmId: true, status: true } } } });
  if (!session) throw new AppError('NOT_FOUND', 'no such session');
  if (!session.jobId) throw new AppError('CONFLICT', 'this session belongs to no job');
  if (!session.endedAt) throw new AppError('CONFLICT', 'the session is still running');
  const failed = [...new Set(session.tasks.filter((t) => ['failed', 'interrupted', 'cancelled'].includes(t.status) && t.vmId).map((t) => t.vmId!))];
  if (failed.length === 0) throw new AppError('CONFLICT', 'no VM failed in this session');
  const started = await startBackupRun({ jobId: session.jobId, trigger: 'retry', triggeredBy: actor.email, onlyVmIds: failed, retryOfSessionId: id });
  await audit('session.retry', 'session', id, { vms: failed.length, sessionId: started.sessionId });
  return NextResponse.json({ sessionId: started.sessionId, vms: failed.length }, { status: 202 });
});
