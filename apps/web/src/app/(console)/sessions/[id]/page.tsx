import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { z } from 'zod';
import { can } from '@strongbox/core';
import { AppError, prisma, Runs } from '@strongbox/db';
import { currentUser } from '@/server/auth';
import { sessionDetail, toLogDto } from '@/server/sessions-service';
import { SessionLive } from './session-live';

export const metadata: Metadata = { title: 'Session' };
export const dynamic = 'force-dynamic';

export default async function SessionPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!z.uuid().safeParse(id).success) notFound();
  const user = await currentUser();
  try {
    const session = await sessionDetail(prisma(), id);
    const logs = await new Runs(prisma()).logs(id, 0n, 1000);
    return <SessionLive initial={session} initialLogs={logs.map(toLogDto)} canRun={Boolean(user && can(user.role, 'jobs.run'))} />;
  } catch (error) {
    if (error instanceof AppError && error.code === 'NOT_FOUND') notFound();
    throw error;
  }
}
