import { NextResponse } from 'next/server';
import { Inventory, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { toConnectionDto } from '@/server/dto';
import { queues } from '@/server/queues';
import { createConnectionBody } from '@/server/schemas';

export const GET = apiRoute({ permission: 'read' }, async () => {
  const rows = await new Inventory(prisma()).listConnections();
  return { data: rows.map(toConnectionDto), total: rows.length, page: 1, perPage: rows.length };
});

/** Adds a connection and has the controller read its inventory at once. */
export const POST = apiRoute({ permission: 'infrastructure.edit', body: createConnectionBody }, async ({ body, audit }) => {
  const row = await new Inventory(prisma()).createConnection(body);
  await queues().add('inventory.rescan', { connectionId: row.id });
  await audit('connection.create', 'connection', row.id, { name: row.name, uri: row.uri });
  return NextResponse.json(toConnectionDto(row), { status: 201 });
});
