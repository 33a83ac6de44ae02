import { NextResponse } from 'next/server';
import { apiRoute } from '@/server/api';
import { cloneJob, toJobDto } from '@/server/jobs-service';
import { jobId } from '@/server/schemas';

export const POST = apiRoute<undefined, { id: string }>({ permission: 'jobs.edit' }, async ({ actor, params, audit }) => {
  const row = await cloneJob(jobId(params.id), actor.userId);
  await audit('job.clone', 'job', row.id, { name: row.name, from: params.id });
  return NextResponse.json(toJobDto(row), { status: 201 });
});
