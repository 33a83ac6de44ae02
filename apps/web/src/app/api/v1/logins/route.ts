import { prisma, Logins } from '@strongbox/db';
import { apiRoute } from '@/server/api';

/** The caller's open console logins (to end one left open on another machine). */
export const GET = apiRoute({ permission: 'read' }, async ({ actor }) => {
  const rows = await new Logins(prisma()).listForUser(actor.userId);
  const data = rows.map((r) => ({
    id: r.id,
    current: r.id === actor.sessionId,
    createdAt: r.createdAt.toISOString(),
    lastSeenAt: r.lastSeenAt.toISOString(),
    expiresAt: r.expiresAt.toISOString(),
    ip: r.ip,
    userAgent: r.userAgent,
  }));
  return { data, total: data.length, page: 1, perPage: data.length };
});
