import { apiRoute } from '@/server/api';
import { searchGuestFiles } from '@/server/guest-index-service';
import { guestFileSearchQuery } from '@/server/mount-schemas';

/** Guest file search over the indexed points: `?q=` a name or a `*`/`?` pattern, `?vmId=`, `?from=`/`?to=` (point times), `?limit=`. */
export const GET = apiRoute({ permission: 'restore' }, async ({ req }) =>
  searchGuestFiles(guestFileSearchQuery.parse(Object.fromEntries(req.nextUrl.searchParams))),
);
