import { prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { restoreDetail } from '@/server/restores-service';
import { pathId } from '@/server/schemas';

/** One restore session: tasks and figures as `GET /sessions/{id}`, its request, its instant recovery. */
export const GET = apiRoute<undefined, { id: string }>({ permission: 'read' }, async ({ params }) => restoreDetail(prisma(), pathId(params.id, 'restore')));
