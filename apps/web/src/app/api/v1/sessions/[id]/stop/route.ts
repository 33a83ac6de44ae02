import { NextResponse } from 'next/server';
import { can } from '@strongbox/core';
import { AppError, prisma, Runs } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { sessionPathId } from '@/server/schemas';

/**
 * Stop a run: waiting VMs are cancelled now, running ones within a second or two. A restore
 * is stopped by whoever may restore (a Restore Operator runs no jobs but stops their restore);
 * any other run by whoever may run jobs. The guard lets either through, the kind decides.
 */
export const POST = apiRoute<undefined, { id: string }>({ permission: 'read' }, async ({ params, actor, audit }) => {
  if (!can(actor.role, 'jobs.run') && !can(actor.role, 'restore')) throw new AppError('FORBIDDEN', `the ${actor.role} role may not do this`);
  const id = sessionPathId(params.id);
  const session = await prisma().session.findUnique({ where: { id }, select: { kind: true } });
  if (!session) throw new AppError('NOT_FOUND', 'no such session');
  if (!can(actor.role, session.kind === 'restore' ? 'restore' : 'jobs.run'))
    throw new AppError('FORBIDDEN', `the ${actor.role} role may not stop this session`);
  await new Runs(prisma()).requestStop(id, actor.email);
  await audit('session.stop', 'session', id);
  return NextResponse.json({ stopping: true }, { status: 202 });
});
