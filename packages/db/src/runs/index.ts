import type { SessionId } from '@strongbox/core';
import { isClient, type Db } from '../client.js';
import { whileDbAway } from '../errors.js';
import type { PrismaClient } from '../generated/client.js';
import { closeFinished, markNotified, reclaimFromDeadMovers, reclaimStalled, reclaimUnit, requestStop, unitsHeldBy, type HeldUnit } from './close.js';
import { dispatchRound } from './dispatch.js';
import * as mover from './mover-side.js';
import { Outbox, type OutboxSend } from './outbox.js';
import { getSession, listSessions, recentResults, sessionLogs, writeLog, type LogLevelName, type SessionFilter } from './read.js';
import { startBackup, startMaintenance, type BackupStart } from './start.js';
import { startRestore } from './start-restore.js';
import { GuestMounts } from './mounts.js';

export type { BackupStart, BackupTrigger, NotStarted, StartResult } from './start.js';
export {
  resolvedRestoreSchema,
  restoreRequestOf,
  restoreSessionRequestSchema,
  type ResolvedRestore,
  type RestoreSessionRequest,
  type RestoreStart,
} from './start-restore.js';
export type { PublishedPoint, StoredPoint, UnitHandle } from './mover-side.js';
export type { HeldUnit } from './close.js';
export type { LogLevelName, RunSession, RunTask, SessionFilter } from './read.js';
export { readSession, readTask, sessionSelect, taskSelect } from './read.js';
export { Outbox, type OutboxSend } from './outbox.js';
export {
  GuestMounts,
  guestMountFsSchema,
  MOUNT_IDLE_MS,
  MOUNT_LIVE,
  MOUNT_STATES,
  MOUNTS_PER_USER,
  type GuestMountFs,
  type GuestMountRow,
  type MountEndResult,
  type MountStartResult,
  type MountState,
} from './mounts.js';

/**
 * The run module: the one owner of sessions of every kind, their tasks, their log lines
 * and the restore points they publish. Every change of state is a rule of core's
 * (`taskRules`, `sessionRules`, `decideClose`, `onMoverLost`, `grantUnits`) applied as a
 * guarded UPDATE (apply.ts); nothing else in Strongbox writes a session's or a task's
 * status. The controller's round calls `reclaim`, `close`, `dispatch` and `relay`; movers
 * call the `mover` methods; the API starts, stops and reads.
 */
export class Runs {
  constructor(private readonly db: Db) {}

  // Starts: a session and its tasks in one transaction; the answer carries its id.
  startBackup = (input: BackupStart) => startBackup(this.db, input);
  startMaintenance = (input: Parameters<typeof startMaintenance>[1]) => startMaintenance(this.db, input);
  /** A restore of any kind: its request checked (a refusal names the field) and its session made. */
  startRestore = (input: { request: unknown; triggeredBy: string }) => startRestore(this.db, input);
  requestStop = (id: SessionId, by: string) => requestStop(this.db, id, by);

  // The controller's round (the leader's), in this order.
  reclaimFromDeadMovers = (now: Date) => reclaimFromDeadMovers(this.client(), now);
  reclaimStalled = (now: Date, stalledAfterMs?: number) => reclaimStalled(this.client(), now, stalledAfterMs);
  /** Guest-file mounts of movers that went silent end (their next start removes what they left). */
  endSilentMounts = (now: Date) => new GuestMounts(this.db).endOnSilentMovers(now);
  closeFinished = (now: Date) => closeFinished(this.client(), now);
  dispatch = (now: Date) => dispatchRound(this.client(), now);
  relay = (send: OutboxSend) => new Outbox(this.db).relay(send);
  markNotified = (id: string) => markNotified(this.db, id);

  /**
   * What a mover does with the unit it was given. Every write waits out a database that is
   * away for a while (a restart): the VM's backup goes on meanwhile, and its outcome must
   * not be lost to a dropped connection. Figures are the exception — the next second's
   * replace them.
   */
  readonly mover = {
    open: (h: mover.UnitHandle) => whileDbAway(() => mover.openUnit(this.db, h)),
    startDisk: (h: mover.UnitHandle, taskId: string, readMode: string) => whileDbAway(() => mover.startDisk(this.db, h, taskId, readMode)),
    recordFigures: (h: mover.UnitHandle, taskId: string, figures: Parameters<typeof mover.recordFigures>[3]) =>
      mover.recordFigures(this.db, h, taskId, figures),
    finishDisk: (h: mover.UnitHandle, taskId: string) => whileDbAway(() => mover.finishDisk(this.db, h, taskId)),
    status: (h: mover.UnitHandle) => mover.unitStatus(this.db, h),
    publishPoint: (h: mover.UnitHandle, point: mover.PublishedPoint, status: 'success' | 'warning') =>
      whileDbAway(() => mover.publishPoint(this.db, h, point, status)),
    finishUnit: (h: mover.UnitHandle, outcome: Parameters<typeof mover.finishUnit>[2]) => whileDbAway(() => mover.finishUnit(this.db, h, outcome)),
    fail: (h: mover.UnitHandle, outcome: { cancelled: boolean; reason: string }) => whileDbAway(() => mover.failUnit(this.db, h, outcome)),
    writeRateShare: (repositoryId: string) => whileDbAway(() => mover.writeRateShare(this.db, repositoryId)),
    readRateShare: (repositoryId: string) => whileDbAway(() => mover.readRateShare(this.db, repositoryId)),
    markRestoreFailure: (vmId: string, failure: string | null) => whileDbAway(() => mover.markRestoreFailure(this.db, vmId, failure)),
    removePoint: (pointId: string) => whileDbAway(() => mover.removePoint(this.db, pointId)),
    catalogMissing: (repositoryId: string, vm: { id: string | null; name: string }, points: readonly mover.StoredPoint[]) =>
      whileDbAway(() => mover.catalogMissing(this.db, repositoryId, vm, points)),
    /** What a mover holds from before its start: units its previous life never finished. */
    heldBy: (moverId: string) => whileDbAway(() => unitsHeldBy(this.db, [moverId])),
    /** One of those, back to waiting (or interrupted): its process died. */
    reclaimAfterRestart: (unit: HeldUnit, self: { id: string; name: string }) => whileDbAway(() => reclaimUnit(this.db, unit, self, 'restarted', new Date())),
  };

  log = (sessionId: string, level: LogLevelName, message: string, taskId?: string) => whileDbAway(() => writeLog(this.db, sessionId, level, message, taskId));

  // Reads.
  list = (filter: SessionFilter, page: number, perPage: number) => listSessions(this.db, filter, page, perPage);
  get = (id: string) => getSession(this.db, id);
  logs = (sessionId: string, afterId: bigint, take?: number) => sessionLogs(this.db, sessionId, afterId, take);
  recentResults = (since: Date) => recentResults(this.db, since);

  /** The round's steps open transactions of their own: they need the client, not a transaction. */
  private client(): PrismaClient {
    if (!isClient(this.db)) throw new Error('the controller round runs on the client, not inside a transaction');
    return this.db;
  }
}
