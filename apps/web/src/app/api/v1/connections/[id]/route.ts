import { NextResponse } from 'next/server';
import { AppError, Inventory, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { toConnectionDto } from '@/server/dto';
import { pathId } from '@/server/schemas';

export const GET = apiRoute<undefined, { id: string }>({ permission: 'read' }, async ({ params }) => {
  const row = await new Inventory(prisma()).connection(pathId(params.id, 'connection'));
  if (!row) throw new AppError('NOT_FOUND', 'no such connection');
  return toConnectionDto(row);
});

export const DELETE = apiRoute<undefined, { id: string }>({ permission: 'delete' }, async ({ params, audit }) => {
  const id = pathId(params.id, 'connection');
  await new Inventory(prisma()).deleteConnection(id);
  await audit('connection.delete', 'connection', id);
  return new NextResponse(null, { status: 204 });
});
