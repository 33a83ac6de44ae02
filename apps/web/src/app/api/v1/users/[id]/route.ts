import { NextResponse } from 'next/server';
import { z } from 'zod';
import { AppError, prisma, Users } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { toUserDto } from '@/server/dto';
import { updateUserBody } from '@/server/schemas';
import { deleteUser, updateUser } from '@/server/users-service';

const id = (params: { id: string }) => {
  const parsed = z.uuid().safeParse(params.id);
  if (!parsed.success) throw new AppError('NOT_FOUND', 'no such user');
  return parsed.data;
};

export const GET = apiRoute<undefined, { id: string }>({ permission: 'users.manage' }, async ({ params }) => {
  const row = await new Users(prisma()).byId(id(params));
  if (!row) throw new AppError('NOT_FOUND', 'no such user');
  return toUserDto(row);
});

export const PATCH = apiRoute<typeof updateUserBody, { id: string }>(
  { permission: 'users.manage', body: updateUserBody },
  async ({ actor, params, body, audit }) => {
    const row = await updateUser(actor, id(params), body);
    const { password, version: _v, ...visible } = body;
    await audit('user.update', 'user', row.id, { ...visible, passwordChanged: password !== undefined });
    return toUserDto(row);
  },
);

export const DELETE = apiRoute<undefined, { id: string }>({ permission: 'users.manage' }, async ({ actor, params, audit }) => {
  const row = await deleteUser(actor, id(params));
  await audit('user.delete', 'user', row.id, { email: row.email });
  return new NextResponse(null, { status: 204 });
});
