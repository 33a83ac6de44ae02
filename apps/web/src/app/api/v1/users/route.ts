import { NextResponse } from 'next/server';
import { prisma, Users } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { toUserDto } from '@/server/dto';
import { createUserBody } from '@/server/schemas';

export const GET = apiRoute({ permission: 'users.manage' }, async () => {
  const rows = await new Users(prisma()).list();
  return { data: rows.map(toUserDto), total: rows.length, page: 1, perPage: rows.length };
});

export const POST = apiRoute({ permission: 'users.manage', body: createUserBody }, async ({ body, audit }) => {
  const row = await new Users(prisma()).create(body);
  await audit('user.create', 'user', row.id, { email: row.email, role: row.role });
  return NextResponse.json(toUserDto(row), { status: 201 });
});
