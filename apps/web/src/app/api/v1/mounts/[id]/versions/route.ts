import { apiRoute } from '@/server/api';
import { ownMount } from '@/server/guest-files-service';
import { fileVersions } from '@/server/guest-index-service';

/** Versions of one file of the caller's mount (`?path=`): the indexed points of its VM that hold it, newest first. */
export const GET = apiRoute<undefined, { id: string }>({ permission: 'restore' }, async ({ req, params, actor }) =>
  fileVersions(await ownMount(params.id, actor), req.nextUrl.searchParams.get('path')),
);
