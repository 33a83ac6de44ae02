import { parseColumn, sessionSummarySchema, taskProgressSchema, unitResultSchema, type RunStatus, type SessionId } from '@strongbox/core';
import type { Db } from '../client.js';
import { AppError } from '../errors.js';
import type { Prisma } from '../generated/client.js';

export const taskSelect = {
  id: true,
  sessionId: true,
  unit: true,
  vmId: true,
  diskName: true,
  moverId: true,
  status: true,
  attempt: true,
  bytesTotal: true,
  bytesRead: true,
  bytesProcessed: true,
  bytesTransferred: true,
  bytesWritten: true,
  readMode: true,
  progress: true,
  lastProgressAt: true,
  result: true,
  error: true,
  startedAt: true,
  endedAt: true,
  notBefore: true,
  vm: { select: { name: true } },
  mover: { select: { name: true } },
} as const;

export const sessionSelect = {
  id: true,
  kind: true,
  jobId: true,
  repositoryId: true,
  retryOfSessionId: true,
  name: true,
  status: true,
  triggeredBy: true,
  startedAt: true,
  endedAt: true,
  summary: true,
  stopRequested: true,
  warnings: true,
} as const;

type TaskRow = Prisma.TaskGetPayload<{ select: typeof taskSelect }>;
type SessionRow = Prisma.SessionGetPayload<{ select: typeof sessionSelect }>;

/** A task with its JSON columns parsed. */
export const readTask = (t: TaskRow) => ({
  ...t,
  progress: parseColumn(taskProgressSchema, t.progress, 'Task.progress'),
  result: parseColumn(unitResultSchema, t.result, 'Task.result'),
});
export type RunTask = ReturnType<typeof readTask>;

export const readSession = <S extends SessionRow>(s: S) => ({
  ...s,
  id: s.id as SessionId,
  summary: parseColumn(sessionSummarySchema, s.summary, 'Session.summary'),
});

export type SessionFilter = { status?: RunStatus | undefined; jobId?: string | undefined; kind?: string | undefined; since?: Date | undefined };

export async function listSessions(db: Db, filter: SessionFilter, page: number, perPage: number) {
  const where: Prisma.SessionWhereInput = {
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.jobId ? { jobId: filter.jobId } : {}),
    ...(filter.kind ? { kind: filter.kind } : {}),
    ...(filter.since ? { startedAt: { gte: filter.since } } : {}),
  };
  const [rows, total] = await Promise.all([
    db.session.findMany({
      where,
      orderBy: { startedAt: 'desc' },
      skip: (page - 1) * perPage,
      take: perPage,
      select: { ...sessionSelect, tasks: { select: taskSelect } },
    }),
    db.session.count({ where }),
  ]);
  return { rows: rows.map((r) => ({ ...readSession(r), tasks: r.tasks.map(readTask) })), total };
}

export async function getSession(db: Db, id: string) {
  const row = await db.session.findUnique({
    where: { id },
    select: { ...sessionSelect, tasks: { select: taskSelect, orderBy: [{ vm: { name: 'asc' } }, { diskName: 'asc' }] } },
  });
  if (!row) throw new AppError('NOT_FOUND', 'no such session');
  return { ...readSession(row), tasks: row.tasks.map(readTask) };
}
export type RunSession = Awaited<ReturnType<typeof getSession>>;

/** Backup runs since `since`, lean: their start, result and what they transferred. */
export async function recentResults(db: Db, since: Date) {
  const rows = await db.session.findMany({
    where: { kind: 'backup', startedAt: { gte: since } },
    select: { startedAt: true, status: true, tasks: { select: { bytesTransferred: true } } },
  });
  return rows.map((r) => ({ startedAt: r.startedAt, status: r.status, bytesTransferred: r.tasks.reduce((n, t) => n + Number(t.bytesTransferred), 0) }));
}

/** Log lines after `afterId` (a cursor: logs can be long). */
export function sessionLogs(db: Db, sessionId: string, afterId: bigint, take = 500) {
  return db.sessionLog.findMany({
    where: { sessionId, id: { gt: afterId } },
    orderBy: { id: 'asc' },
    take,
    select: { id: true, taskId: true, time: true, level: true, message: true },
  });
}

export type LogLevelName = 'info' | 'warning' | 'error';

export function writeLog(db: Db, sessionId: string, level: LogLevelName, message: string, taskId?: string) {
  return db.sessionLog.create({ data: { sessionId, level, message, taskId: taskId ?? null } });
}
