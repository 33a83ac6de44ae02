import { z } from 'zod';
import { prisma, Runs } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { pathId } from '@/server/schemas';
import { toLogDto } from '@/server/sessions-service';

const query = z.object({ after: z.coerce.bigint().min(0n).default(0n), take: z.coerce.number().int().min(1).max(1000).default(500) });

/** Log lines after the cursor `after` (the last id seen); `next` is the cursor to ask with. */
export const GET = apiRoute<undefined, { id: string }>({ permission: 'read' }, async ({ req, params }) => {
  const q = query.parse(Object.fromEntries(req.nextUrl.searchParams));
  const rows = await new Runs(prisma()).logs(pathId(params.id, 'session'), q.after, q.take);
  return {
    data: rows.map(toLogDto),
    next: rows.length ? rows[rows.length - 1]!.id.toString() : q.after.toString(),
  };
});
