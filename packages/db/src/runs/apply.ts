import type { SessionChange, SessionId, TaskChange, TaskData } from '@strongbox/core';
import type { Db } from '../client.js';
import { Prisma } from '../generated/client.js';

/**
 * Where core's transition rules meet SQL: a change is one UPDATE whose WHERE carries its
 * guard (the statuses it may leave, the attempt it was decided on, the mover that holds
 * the unit). A change that no longer applies — the unit was taken back, retried, stopped
 * — updates nothing, and the caller learns so from the count.
 */

const big = (key: string, n: number | undefined) => (n === undefined ? {} : { [key]: BigInt(Math.round(n)) });

function taskColumns(d: TaskData): Prisma.TaskUpdateManyMutationInput {
  const { progress, result, bytesRead, bytesProcessed, bytesTransferred, bytesWritten, ...plain } = d;
  return {
    ...plain,
    ...(progress !== undefined ? { progress: progress === null ? Prisma.DbNull : progress } : {}),
    ...(result !== undefined ? { result: result === null ? Prisma.DbNull : result } : {}),
    ...big('bytesRead', bytesRead),
    ...big('bytesProcessed', bytesProcessed),
    ...big('bytesTransferred', bytesTransferred),
    ...big('bytesWritten', bytesWritten),
  };
}

/** The tasks `where` selects that the change's guard still admits; returns how many changed. */
export async function applyTaskChange(db: Db, where: Prisma.TaskWhereInput, change: TaskChange): Promise<number> {
  const { count } = await db.task.updateMany({
    where: {
      ...where,
      status: { in: [...change.guard.status] },
      attempt: change.guard.attempt,
      ...(change.guard.moverId !== undefined ? { moverId: change.guard.moverId } : {}),
    },
    data: taskColumns(change.data),
  });
  return count;
}

export async function applySessionChange(db: Db, sessionId: SessionId, change: SessionChange): Promise<boolean> {
  const { summary, ...plain } = change.data;
  const { count } = await db.session.updateMany({
    where: { id: sessionId, status: { in: [...change.guard.status] } },
    data: { ...plain, ...(summary !== undefined ? { summary: summary === null ? Prisma.DbNull : (summary as Prisma.InputJsonValue) } : {}) },
  });
  return count === 1;
}
