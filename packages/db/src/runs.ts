import { isFinal, type PlannedTask, type RunStatus } from '@strongbox/core';
import type { Db } from './client.js';
import { AppError } from './errors.js';
import type { Prisma } from './generated/client.js';

export type LogLevelName = 'info' | 'warning' | 'error';

export const taskSelect = {
  id: true,
  sessionId: true,
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
  name: true,
  status: true,
  triggeredBy: true,
  startedAt: true,
  endedAt: true,
  summary: true,
  stopRequested: true,
  warnings: true,
} as const;

export type SessionFilter = { status?: RunStatus | undefined; jobId?: string | undefined; kind?: string | undefined; since?: Date | undefined };

/** Sessions (job runs) and their tasks, as rows (house style 6: runs live in PostgreSQL). */
export class RunRepository {
  constructor(private readonly db: Db) {}

  /** A job run with one pending task per planned VM disk, and its warnings as log lines. */
  async createSession(input: { jobId: string; name: string; triggeredBy: string; tasks: readonly PlannedTask[]; warnings: readonly string[] }) {
    const session = await this.db.session.create({
      data: {
        kind: 'backup',
        jobId: input.jobId,
        name: input.name,
        triggeredBy: input.triggeredBy,
        status: input.tasks.length > 0 ? 'pending' : 'failed',
        endedAt: input.tasks.length > 0 ? null : new Date(),
        warnings: input.warnings.length,
        tasks: {
          create: input.tasks.map((t) => ({ vmId: t.vmId, diskName: t.diskName, bytesTotal: BigInt(t.sizeBytes) })),
        },
        logs: {
          create: [
            { level: 'info', message: `started by ${input.triggeredBy}: ${input.tasks.length} disk(s) to process` },
            ...input.warnings.map((message) => ({ level: 'warning' as const, message })),
            ...(input.tasks.length === 0 ? [{ level: 'error' as const, message: 'nothing to back up' }] : []),
          ],
        },
      },
      select: { id: true, status: true },
    });
    return session;
  }

  log(sessionId: string, level: LogLevelName, message: string, taskId?: string) {
    return this.db.sessionLog.create({ data: { sessionId, level, message, taskId: taskId ?? null } });
  }

  async list(filter: SessionFilter, page: number, perPage: number) {
    const where: Prisma.SessionWhereInput = {
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.jobId ? { jobId: filter.jobId } : {}),
      ...(filter.kind ? { kind: filter.kind } : {}),
      ...(filter.since ? { startedAt: { gte: filter.since } } : {}),
    };
    const [rows, total] = await Promise.all([
      this.db.session.findMany({
        where,
        orderBy: { startedAt: 'desc' },
        skip: (page - 1) * perPage,
        take: perPage,
        select: { ...sessionSelect, tasks: { select: taskSelect } },
      }),
      this.db.session.count({ where }),
    ]);
    return { rows, total };
  }

  /** Backup runs since `since`, lean: their start, result and what they transferred. */
  async recentResults(since: Date) {
    const rows = await this.db.session.findMany({
      where: { kind: 'backup', startedAt: { gte: since } },
      select: { startedAt: true, status: true, tasks: { select: { bytesTransferred: true } } },
    });
    return rows.map((r) => ({ startedAt: r.startedAt, status: r.status, bytesTransferred: r.tasks.reduce((n, t) => n + Number(t.bytesTransferred), 0) }));
  }

  async get(id: string) {
    const session = await this.db.session.findUnique({
      where: { id },
      select: { ...sessionSelect, tasks: { select: taskSelect, orderBy: [{ vm: { name: 'asc' } }, { diskName: 'asc' }] } },
    });
    if (!session) throw new AppError('NOT_FOUND', 'no such session');
    return session;
  }

  /** Log lines after `afterId` (a cursor: logs can be long). */
  logs(sessionId: string, afterId: bigint, take = 500) {
    return this.db.sessionLog.findMany({
      where: { sessionId, id: { gt: afterId } },
      orderBy: { id: 'asc' },
      take,
      select: { id: true, taskId: true, time: true, level: true, message: true },
    });
  }

  /** Stop: waiting tasks end now; movers see the flag within a second and cancel theirs. */
  async requestStop(id: string, by: string) {
    const session = await this.db.session.findUnique({ where: { id }, select: { status: true } });
    if (!session) throw new AppError('NOT_FOUND', 'no such session');
    if (isFinal(session.status)) throw new AppError('CONFLICT', `the session has already ended (${session.status})`);
    await this.db.session.update({ where: { id }, data: { stopRequested: true } });
    await this.db.task.updateMany({
      where: { sessionId: id, status: 'pending' },
      data: { status: 'cancelled', endedAt: new Date(), error: `stopped by ${by}` },
    });
    await this.log(id, 'warning', `stop requested by ${by}`);
  }
}
