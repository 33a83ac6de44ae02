import { NextResponse } from 'next/server';
import { prisma, Runs } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { sessionPathId } from '@/server/schemas';

/** Stop a run: waiting VMs are cancelled now, running ones within a second or two. */
export const POST = apiRoute<undefined, { id: string }>({ permission: 'jobs.run' }, async ({ params, actor, audit }) => {
  const id = sessionPathId(params.id);
  await new Runs(prisma()).requestStop(id, actor.email);
  await audit('session.stop', 'session', id);
  return NextResponse.json({ stopping: true }, { status: 202 });
});
