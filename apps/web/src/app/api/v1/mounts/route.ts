import { GuestMounts, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { toMountDto } from '@/server/guest-files-service';
import { mountListQuery } from '@/server/mount-schemas';

/** The caller's own mounts, newest first: those not ended yet (?all=1: every one). */
export const GET = apiRoute({ permission: 'restore' }, async ({ req, actor }) => {
  const q = mountListQuery.parse(Object.fromEntries(req.nextUrl.searchParams));
  const all = q.all === '1' || q.all === 'true';
  const rows = await new GuestMounts(prisma()).ofOwner(actor.userId, all ? {} : { live: true });
  return { data: rows.map(toMountDto), total: rows.length, page: 1, perPage: rows.length };
});
