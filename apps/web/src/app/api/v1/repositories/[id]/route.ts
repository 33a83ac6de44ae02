import { NextResponse } from 'next/server';
import { BackupRepositories, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { toRepositoryDto } from '@/server/dto';
import { pathId, rateToBytes, updateRepositoryBody } from '@/server/schemas';

export const PATCH = apiRoute<typeof updateRepositoryBody, { id: string }>(
  { permission: 'infrastructure.edit', body: updateRepositoryBody },
  async ({ params, body, audit }) => {
    const { version, readRateLimitMiBs, writeRateLimitMiBs, ...rest } = body;
    const row = await new BackupRepositories(prisma()).update(pathId(params.id, 'repository'), version, {
      ...rest,
      ...(readRateLimitMiBs !== undefined ? { readRateLimit: rateToBytes(readRateLimitMiBs) } : {}),
      ...(writeRateLimitMiBs !== undefined ? { writeRateLimit: rateToBytes(writeRateLimitMiBs) } : {}),
    });
    await audit('repository.update', 'repository', row.id, body);
    return toRepositoryDto(row);
  },
);

export const DELETE = apiRoute<undefined, { id: string }>({ permission: 'delete' }, async ({ params, audit }) => {
  const id = pathId(params.id, 'repository');
  await new BackupRepositories(prisma()).delete(id);
  await audit('repository.delete', 'repository', id);
  return new NextResponse(null, { status: 204 });
});
