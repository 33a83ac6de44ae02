import { NextResponse } from 'next/server';
import { AppError, JobRepository, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { queues } from '@/server/queues';
import { jobId } from '@/server/schemas';

/** Queues a run; the controller turns it into a session. */
export const POST = apiRoute<undefined, { id: string }>({ permission: 'jobs.run' }, async ({ actor, params, audit }) => {
  const job = await new JobRepository(prisma()).byId(jobId(params.id));
  if (!job) throw new AppError('NOT_FOUND', 'no such job');
  const queued = await queues().add('job.run', {
    jobId: job.id,
    trigger: actor.via === 'token' ? 'api' : 'user',
    triggeredBy: actor.email,
  });
  await audit('job.start', 'job', job.id, { name: job.name });
  return NextResponse.json({ queued: true, runId: queued.id }, { status: 202 });
});
