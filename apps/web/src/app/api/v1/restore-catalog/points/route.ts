import { prisma, RestorePoints } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { catalogPointsQuery } from '@/server/restore-schemas';
import { toCatalogPointDto } from '@/server/restores-service';

/** One VM's restore points, newest first: ?vmId= for a VM of the inventory (removed or not), ?vmName= for one whose row is gone. */
export const GET = apiRoute({ permission: 'read' }, async ({ req }) => {
  const key = catalogPointsQuery.parse(Object.fromEntries(req.nextUrl.searchParams));
  const rows = await new RestorePoints(prisma()).ofVm(key);
  return { data: rows.map(toCatalogPointDto), total: rows.length, page: 1, perPage: rows.length };
});
