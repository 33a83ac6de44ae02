import { NextResponse } from 'next/server';
import { AppError, Inventory, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { queues } from '@/server/queues';
import { pathId } from '@/server/schemas';

export const POST = apiRoute<undefined, { id: string }>({ permission: 'infrastructure.edit' }, async ({ params, audit }) => {
  const id = pathId(params.id, 'connection');
  if (!(await new Inventory(prisma()).connection(id))) throw new AppError('NOT_FOUND', 'no such connection');
  await queues().add('inventory.rescan', { connectionId: id });
  await audit('connection.rescan', 'connection', id);
  return NextResponse.json({ queued: true }, { status: 202 });
});
