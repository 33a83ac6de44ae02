import { NextResponse } from 'next/server';
import { jobSpecSchema } from '@strongbox/core';
import { BackupJobs, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { createJob, toJobDto } from '@/server/jobs-service';
import { pageQuery } from '@/server/schemas';

export const GET = apiRoute({ permission: 'read' }, async ({ req }) => {
  const { page, perPage } = pageQuery.parse(Object.fromEntries(req.nextUrl.searchParams));
  const { rows, total } = await new BackupJobs(prisma()).page(page, perPage);
  return { data: rows.map(toJobDto), total, page, perPage };
});

export const POST = apiRoute({ permission: 'jobs.edit', body: jobSpecSchema }, async ({ actor, body, audit }) => {
  const row = await createJob(body, actor.userId);
  await audit('job.create', 'job', row.id, { name: row.name });
  return NextResponse.json(toJobDto(row), { status: 201 });
});
