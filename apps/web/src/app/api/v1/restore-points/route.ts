import { z } from 'zod';
import { prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { pageQuery } from '@/server/schemas';

const query = pageQuery.extend({ vmId: z.uuid().optional(), jobId: z.uuid().optional(), repositoryId: z.uuid().optional() });

/** The restore-point catalog, newest first (?vmId=, ?jobId=, ?repositoryId=). */
export const GET = apiRoute({ permission: 'read' }, async ({ req }) => {
  const q = query.parse(Object.fromEntries(req.nextUrl.searchParams));
  const where = { ...(q.vmId ? { vmId: q.vmId } : {}), ...(q.jobId ? { jobId: q.jobId } : {}), ...(q.repositoryId ? { repositoryId: q.repositoryId } : {}) };
  const [rows, total] = await Promise.all([
    prisma().restorePoint.findMany({
      where,
      orderBy: { time: 'desc' },
      skip: (q.page - 1) * q.perPage,
      take: q.perPage,
      select: {
        id: true,
        vmId: true,
        vmName: true,
        jobId: true,
        sessionId: true,
        time: true,
        kind: true,
        path: true,
        disks: true,
        repository: { select: { id: true, name: true } },
        job: { select: { name: true } },
      },
    }),
    prisma().restorePoint.count({ where }),
  ]);
  return {
    data: rows.map((r) => ({ ...r, time: r.time.toISOString(), jobName: r.job?.name ?? null, job: undefined })),
    total,
    page: q.page,
    perPage: q.perPage,
  };
});
