import { NextResponse } from 'next/server';
import { ApiTokens, AppError, prisma } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { toTokenDto } from '@/server/dto';
import { createTokenBody } from '@/server/schemas';

/** A user's own API tokens; each acts with its user's role. */
export const GET = apiRoute({ permission: 'read' }, async ({ actor }) => {
  const rows = await new ApiTokens(prisma()).listForUser(actor.userId);
  return { data: rows.map(toTokenDto), total: rows.length, page: 1, perPage: rows.length };
});

export const POST = apiRoute({ permission: 'read', body: createTokenBody }, async ({ actor, body, audit }) => {
  // A leaked token must not be able to mint more of itself.
  if (actor.via === 'token') throw new AppError('FORBIDDEN', 'API tokens are created from a console login');
  const expiresAt = body.expiresInDays ? new Date(Date.now() + body.expiresInDays * 86_400_000) : null;
  const { token, row } = await new ApiTokens(prisma()).create(actor.userId, body.name, expiresAt);
  await audit('token.create', 'token', row.id, { name: row.name });
  return NextResponse.json({ token, ...toTokenDto(row) }, { status: 201 });
});
