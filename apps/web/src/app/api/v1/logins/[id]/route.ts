import { NextResponse } from 'next/server';
import { z } from 'zod';
import { AppError, prisma, Logins } from '@strongbox/db';
import { apiRoute } from '@/server/api';

export const DELETE = apiRoute<undefined, { id: string }>({ permission: 'read' }, async ({ actor, params, audit }) => {
  const id = z.uuid().safeParse(params.id);
  if (!id.success) throw new AppError('NOT_FOUND', 'no such login');
  const result = await new Logins(prisma()).revoke(id.data, actor.userId);
  if (result.count === 0) throw new AppError('NOT_FOUND', 'no such login');
  await audit('login.revoke', 'login', id.data);
  return new NextResponse(null, { status: 204 });
});
