import { z } from 'zod';
import { AppError, Movers, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { toMoverDto } from '@/server/dto';
import { updateMoverBody } from '@/server/schemas';

export const PATCH = apiRoute<typeof updateMoverBody, { id: string }>(
  { permission: 'infrastructure.edit', body: updateMoverBody },
  async ({ params, body, audit }) => {
    const id = z.uuid().safeParse(params.id);
    if (!id.success) throw new AppError('NOT_FOUND', 'no such mover');
    const { version, ...changes } = body;
    const row = await new Movers(prisma()).update(id.data, version, changes);
    await audit('mover.update', 'mover', row.id, changes);
    return toMoverDto(row);
  },
);
