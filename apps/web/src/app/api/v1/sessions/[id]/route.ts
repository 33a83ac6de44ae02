import { prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { pathId } from '@/server/schemas';
import { sessionDetail } from '@/server/sessions-service';

export const GET = apiRoute<undefined, { id: string }>({ permission: 'read' }, async ({ params }) => sessionDetail(prisma(), pathId(params.id, 'session')));
