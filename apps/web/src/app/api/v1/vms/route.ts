import { z } from 'zod';
import { Inventory, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { toVmDto } from '@/server/dto';

const query = z.object({ connectionId: z.uuid().optional(), includeRemoved: z.enum(['true', 'false']).optional() });

export const GET = apiRoute({ permission: 'read' }, async ({ req }) => {
  const q = query.parse(Object.fromEntries(req.nextUrl.searchParams));
  const rows = await new Inventory(prisma()).vms({
    ...(q.connectionId ? { connectionId: q.connectionId } : {}),
    includeRemoved: q.includeRemoved === 'true',
  });
  return { data: rows.map(toVmDto), total: rows.length, page: 1, perPage: rows.length };
});
