import { AuditTrail, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { pageQuery } from '@/server/schemas';

export const GET = apiRoute({ permission: 'users.manage' }, async ({ req }) => {
  const { page, perPage } = pageQuery.parse(Object.fromEntries(req.nextUrl.searchParams));
  const { rows, total } = await new AuditTrail(prisma()).page(page, perPage);
  const data = rows.map((r) => ({
    id: r.id.toString(),
    time: r.time.toISOString(),
    actor: r.actor,
    action: r.action,
    targetType: r.targetType,
    targetId: r.targetId,
    details: r.details,
    ip: r.ip,
  }));
  return { data, total, page, perPage };
});
