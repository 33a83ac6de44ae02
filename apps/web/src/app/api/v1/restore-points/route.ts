import { z } from 'zod';
import { prisma, RestorePoints } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { pageQuery } from '@/server/schemas';

const query = pageQuery.extend({ vmId: z.uuid().optional(), jobId: z.uuid().optional(), repositoryId: z.uuid().optional() });

/** The restore-point catalog, newest first (?vmId=, ?jobId=, ?repositoryId=). */
export const GET = apiRoute({ permission: 'read' }, async ({ req }) => {
  const q = query.parse(Object.fromEntries(req.nextUrl.searchParams));
  const { rows, total } = await new RestorePoints(prisma()).page({ vmId: q.vmId, jobId: q.jobId, repositoryId: q.repositoryId }, q.page, q.perPage);
  return {
    data: rows.map(({ job, ...r }) => ({ ...r, time: r.time.toISOString(), jobName: job?.name ?? null })),
    total,
    page: q.page,
    perPage: q.perPage,
  };
});
