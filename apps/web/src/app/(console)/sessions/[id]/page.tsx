import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { z } from 'zod';
import { can } from '@strongbox/core';
import { AppError, prisma, Runs } from '@strongbox/db';
import { currentUser } from '@/server/auth';
import { restoreOfSession } from '@/server/restores-service';
import { sessionDetail, toLogDto } from '@/server/sessions-service';
import { SessionLive, type RetryOf } from './session-live';

export const metadata: Metadata = { title: 'Session' };
export const dynamic = 'force-dynamic';

export default async function SessionPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!z.uuid().safeParse(id).success) notFound();
  const user = await currentUser();
  try {
    const session = await sessionDetail(prisma(), id);
    const logs = await new Runs(prisma()).logs(id, 0n, 1000);
    // The retried session is named by what the operator saw in the list, not by its id.
    const original = session.retryOfSessionId
      ? await prisma().session.findUnique({ where: { id: session.retryOfSessionId }, select: { name: true, startedAt: true } })
      : null;
    const retryOf: RetryOf = original ? { name: original.name, startedAt: original.startedAt.toISOString() } : null;
    const restore = session.kind === 'restore' ? await restoreOfSession(prisma(), id) : null;
    // A restore is stopped by whoever may restore; a backup is stopped and retried by whoever may run jobs.
    const canStop = Boolean(user && can(user.role, session.kind === 'restore' ? 'restore' : 'jobs.run'));
    const canRetry = Boolean(user && session.kind === 'backup' && can(user.role, 'jobs.run'));
    return (
      // Keyed by id: Retry navigates from one session to another, and the live state must not carry over.
      <SessionLive
        key={session.id}
        initial={session}
        initialLogs={logs.map(toLogDto)}
        canStop={canStop}
        canRetry={canRetry}
        retryOf={retryOf}
        restore={restore}
      />
    );
  } catch (error) {
    if (error instanceof AppError && error.code === 'NOT_FOUND') notFound();
    throw error;
  }
}
