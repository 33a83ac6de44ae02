import { NextResponse } from 'next/server';
import { AppError, BackupJobs, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { startBackupRun } from '@/server/runs-service';
import { jobId } from '@/server/schemas';

/** Starts a run now: 202 with the id of its session, which `GET /sessions/{id}` answers at once; 409 while the job runs. */
export const POST = apiRoute<undefined, { id: string }>({ permission: 'jobs.run' }, async ({ actor, params, audit }) => {
  const job = await new BackupJobs(prisma()).byId(jobId(params.id));
  if (!job) throw new AppError('NOT_FOUND', 'no such job');
  const { sessionId } = await startBackupRun({ jobId: job.id, trigger: actor.via === 'token' ? 'api' : 'user', triggeredBy: actor.email });
  await audit('job.start', 'job', job.id, { name: job.name, sessionId });
  return NextResponse.json({ sessionId }, { status: 202 });
});
