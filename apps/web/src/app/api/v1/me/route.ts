import { apiRoute } from '@/server/api';

export const GET = apiRoute({ permission: 'read' }, async ({ actor }) => ({
  id: actor.userId,
  email: actor.email,
  name: actor.name,
  role: actor.role,
  via: actor.via,
}));
