import { AppError, prisma, Runs, type BackupStart } from '@strongbox/db';
import { wakeRuns } from '@strongbox/queue';
import { env } from '@strongbox/config';
import { redis } from './redis';

/**
 * A backup run started from the console or the API: the session and its tasks exist when
 * this returns, and the answer is the session's id. The leader controller is nudged so
 * that it hands the VMs to movers now rather than at its next round; the session row is
 * the work, the nudge only saves the wait. A job that is running already is a conflict
 * that names the running session.
 */
export async function startBackupRun(input: BackupStart) {
  const start = await new Runs(prisma()).startBackup(input);
  if (!start.started)
    throw new AppError(start.why === 'gone' ? 'NOT_FOUND' : 'CONFLICT', start.reason, start.sessionId ? { sessionId: start.sessionId } : undefined);
  await wakeRuns(redis(), env().STRONGBOX_REDIS_PREFIX).catch((error: unknown) => {
    // The session is made; without the nudge the controller's next round (2 s) takes it.
    console.warn('[runs] could not nudge the controller:', error instanceof Error ? error.message : error);
  });
  return { sessionId: start.sessionId };
}
