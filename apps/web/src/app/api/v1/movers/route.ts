import { Movers, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { toMoverDto } from '@/server/dto';

export const GET = apiRoute({ permission: 'read' }, async () => {
  const rows = await new Movers(prisma()).list();
  return { data: rows.map(toMoverDto), total: rows.length, page: 1, perPage: rows.length };
});
