import { prisma, RestorePoints } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { restoreCatalogQuery } from '@/server/restore-schemas';
import { toCatalogVmDto } from '@/server/restores-service';

/** VMs that have restore points, found by name (?q=), including VMs no longer in the inventory. */
export const GET = apiRoute({ permission: 'read' }, async ({ req }) => {
  const q = restoreCatalogQuery.parse(Object.fromEntries(req.nextUrl.searchParams));
  const rows = await new RestorePoints(prisma()).vms(q.q);
  return { data: rows.map(toCatalogVmDto), total: rows.length, page: 1, perPage: rows.length };
});
