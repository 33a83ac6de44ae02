import { prisma, Runs } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { sessionQuery } from '@/server/schemas';
import { toSessionDto } from '@/server/sessions-service';

/** Job runs and maintenance, newest first (?status=, ?jobId=, ?kind=, ?page=, ?perPage=). */
export const GET = apiRoute({ permission: 'read' }, async ({ req }) => {
  const q = sessionQuery.parse(Object.fromEntries(req.nextUrl.searchParams));
  const { rows, total } = await new Runs(prisma()).list({ status: q.status, jobId: q.jobId, kind: q.kind }, q.page, q.perPage);
  return { data: rows.map((r) => toSessionDto(r)), total, page: q.page, perPage: q.perPage };
});
