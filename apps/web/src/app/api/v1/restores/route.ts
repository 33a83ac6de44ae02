import { NextResponse } from 'next/server';
import { z } from 'zod';
import { apiRoute } from '@/server/api';
import { restoreListQuery } from '@/server/restore-schemas';
import { listRestores, startRestore } from '@/server/restores-service';

/** Restore sessions, newest first, each with its request (?page=, ?perPage=). */
export const GET = apiRoute({ permission: 'read' }, async ({ req }) => {
  const q = restoreListQuery.parse(Object.fromEntries(req.nextUrl.searchParams));
  return listRestores(q.page, q.perPage);
});

/**
 * Starts a restore: 202 with the id of its session. The body is parsed by the service, not
 * the guard, so that a refused request is audited like an accepted one; a refusal names its
 * field (`details.field`) with the run module's status: 400, 404 or 409.
 */
export const POST = apiRoute({ permission: 'restore', body: z.unknown() }, async ({ body, actor, audit }) => {
  const { sessionId } = await startRestore(body, actor, audit);
  return NextResponse.json({ sessionId }, { status: 202 });
});
