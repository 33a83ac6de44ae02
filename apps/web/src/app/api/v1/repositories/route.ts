import { NextResponse } from 'next/server';
import { BackupRepositories, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { toRepositoryDto } from '@/server/dto';
import { rateToBytes, repositoryBody } from '@/server/schemas';

export const GET = apiRoute({ permission: 'read' }, async () => {
  const repos = new BackupRepositories(prisma());
  const [rows, usage] = await Promise.all([repos.list(), repos.usage()]);
  return { data: rows.map((r) => toRepositoryDto(r, usage.get(r.id))), total: rows.length, page: 1, perPage: rows.length };
});

/** A folder on the backup server (local or mounted); the first backup lays out its format. */
export const POST = apiRoute({ permission: 'infrastructure.edit', body: repositoryBody }, async ({ body, audit }) => {
  const row = await new BackupRepositories(prisma()).create({
    name: body.name,
    path: body.path,
    maxConcurrentTasks: body.maxConcurrentTasks,
    readRateLimit: rateToBytes(body.readRateLimitMiBs),
    writeRateLimit: rateToBytes(body.writeRateLimitMiBs),
    verifyEveryDays: body.verifyEveryDays,
  });
  await audit('repository.create', 'repository', row.id, { name: row.name, path: row.path });
  return NextResponse.json(toRepositoryDto(row), { status: 201 });
});
