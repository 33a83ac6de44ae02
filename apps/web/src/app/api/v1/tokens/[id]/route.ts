import { NextResponse } from 'next/server';
import { z } from 'zod';
import { ApiTokens, AppError, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';

export const DELETE = apiRoute<undefined, { id: string }>({ permission: 'read' }, async ({ actor, params, audit }) => {
  const id = z.uuid().safeParse(params.id);
  if (!id.success) throw new AppError('NOT_FOUND', 'no such active token');
  await new ApiTokens(prisma()).revoke(id.data, actor.userId);
  await audit('token.revoke', 'token', id.data);
  return new NextResponse(null, { status: 204 });
});
