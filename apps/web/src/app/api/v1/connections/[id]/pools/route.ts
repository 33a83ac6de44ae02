import { apiRoute } from '@/server/api';
import { poolsOf } from '@/server/restores-service';
import { pathId } from '@/server/schemas';

/** The connection's storage pools as its last rescan saw them: where a restore may write. */
export const GET = apiRoute<undefined, { id: string }>({ permission: 'read' }, async ({ params }) => {
  const rows = await poolsOf(pathId(params.id, 'connection'));
  return { data: rows, total: rows.length, page: 1, perPage: rows.length };
});
