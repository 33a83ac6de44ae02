import { apiRoute } from '@/server/api';
import { download, downloadRequest, ownMount } from '@/server/guest-files-service';

/**
 * Files of a ready mount, streamed: one file as it is, several paths or a folder as one
 * archive (`format=tar.gz|zip`). Every path is checked before the mover is asked. Audited with the paths.
 */
export const GET = apiRoute<undefined, { id: string }>({ permission: 'restore' }, async ({ req, params, actor, audit }) => {
  const mount = await ownMount(params.id, actor);
  return download(mount, downloadRequest(req.nextUrl.searchParams), req.signal, audit);
});
