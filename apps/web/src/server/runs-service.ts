import type { Redis } from 'ioredis';
import { AppError, prisma, Runs, type BackupStart } from '@strongbox/db';
import { wakeRuns } from '@strongbox/queue';
import { env } from '@strongbox/config';
import { redis } from './redis';

/**
 * Nudges the leader controller so that it hands new work to movers now rather than at its
 * next round. The rows are the work, the nudge only saves the wait: when Redis cannot take
 * it, the next round (2 s) finds them anyway, so the failure is logged and not raised.
 */
export async function nudgeController(): Promise<void> {
  const client = redis();
  await connected(client);
  await wakeRuns(client, env().STRONGBOX_REDIS_PREFIX).catch((error: unknown) => {
    console.warn('[runs] could not nudge the controller:', error instanceof Error ? error.message : error);
  });
}

/**
 * A backup run started from the console or the API: the session and its tasks exist when
 * this returns, and the answer is the session's id. A job that is running already is a
 * conflict that names the running session.
 */
export async function startBackupRun(input: BackupStart) {
  const start = await new Runs(prisma()).startBackup(input);
  if (!start.started)
    throw new AppError(start.why === 'gone' ? 'NOT_FOUND' : 'CONFLICT', start.reason, start.sessionId ? { sessionId: start.sessionId } : undefined);
  await nudgeController();
  return { sessionId: start.sessionId };
}

/** The web's client has no offline queue, so a command before it is connected fails: the first nudge of a process waits for it a moment. */
async function connected(client: Redis, ms = 1000): Promise<void> {
  if (client.status !== 'wait' && client.status !== 'connecting' && client.status !== 'connect') return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.once('ready', done);
  });
}
