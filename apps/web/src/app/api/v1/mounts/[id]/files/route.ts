import { apiRoute } from '@/server/api';
import { guestPath, listFiles, ownMount } from '@/server/guest-files-service';

/**
 * One folder of a ready mount (`?path=/`, the default: its file systems). The path is checked
 * here before the mover is asked: `..`, NUL or a relative path is 400 naming `path`.
 */
export const GET = apiRoute<undefined, { id: string }>({ permission: 'restore' }, async ({ req, params, actor }) => {
  const mount = await ownMount(params.id, actor);
  return listFiles(mount, guestPath(req.nextUrl.searchParams.get('path') ?? '/'));
});
