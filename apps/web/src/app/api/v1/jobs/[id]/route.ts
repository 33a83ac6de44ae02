import { NextResponse } from 'next/server';
import { AppError, BackupJobs, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { toJobDto, updateJob } from '@/server/jobs-service';
import { jobId, updateJobBody } from '@/server/schemas';

export const GET = apiRoute<undefined, { id: string }>({ permission: 'read' }, async ({ params }) => {
  const row = await new BackupJobs(prisma()).byId(jobId(params.id));
  if (!row) throw new AppError('NOT_FOUND', 'no such job');
  return toJobDto(row);
});

export const PUT = apiRoute<typeof updateJobBody, { id: string }>({ permission: 'jobs.edit', body: updateJobBody }, async ({ params, body, audit }) => {
  const { version, ...spec } = body;
  const row = await updateJob(jobId(params.id), version, spec);
  await audit('job.update', 'job', row.id, { name: row.name, version: row.version });
  return toJobDto(row);
});

export const DELETE = apiRoute<undefined, { id: string }>({ permission: 'delete' }, async ({ params, audit }) => {
  const row = await new BackupJobs(prisma()).delete(jobId(params.id));
  await audit('job.delete', 'job', row.id, { name: row.name });
  return new NextResponse(null, { status: 204 });
});
