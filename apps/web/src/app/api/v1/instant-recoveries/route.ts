import { InstantRecoveries, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { instantListQuery } from '@/server/restore-schemas';
import { toInstantDtos } from '@/server/restores-service';

/** Instant recoveries, newest first: those that may hold a VM, overlay or export (?all=1: also migrated and stopped ones). */
export const GET = apiRoute({ permission: 'read' }, async ({ req }) => {
  const q = instantListQuery.parse(Object.fromEntries(req.nextUrl.searchParams));
  const all = q.all === '1' || q.all === 'true';
  const db = prisma();
  const rows = await toInstantDtos(db, await new InstantRecoveries(db).list({ live: !all }));
  return { data: rows, total: rows.length, page: 1, perPage: rows.length };
});
