import type { TaskProgressFigures, UnitResult } from './figures.js';
import type { RunStatus } from './status.js';

/**
 * Every change of a run's state, as pure rules: each names the statuses it may start
 * from and what it writes. The run module in packages/db applies a change as one guarded
 * UPDATE (`WHERE status IN guard.status AND attempt = guard.attempt [AND mover = …]`), so
 * that a stale actor — a mover whose VM was taken back, a second controller round, a
 * retry racing a reclaim — changes nothing instead of overwriting newer state. Because
 * the guard pins the attempt it read, the rules can write absolute values (the next
 * attempt number, the new exclusion list) without losing an update.
 */

/** The columns of a task a transition may write. */
export type TaskData = {
  status?: RunStatus;
  attempt?: number;
  moverId?: string | null;
  startedAt?: Date | null;
  endedAt?: Date | null;
  error?: string | null;
  notBefore?: Date | null;
  excludedMoverIds?: string[];
  readMode?: string | null;
  progress?: TaskProgressFigures | null;
  lastProgressAt?: Date | null;
  bytesRead?: number;
  bytesProcessed?: number;
  bytesTransferred?: number;
  bytesWritten?: number;
  result?: UnitResult | null;
};

export type TaskGuard = { status: readonly RunStatus[]; attempt: number; moverId?: string };
export type TaskChange = { event: TaskEvent; guard: TaskGuard; data: TaskData };

/** Which statuses each event of a task may leave, and which it may reach. */
export const TASK_TRANSITIONS = {
  /** The resource scheduler gives a waiting unit a mover. */
  claim: { from: ['pending'], to: ['running'] },
  /** The mover records figures (or that a disk started or ended): the task stays running. */
  progress: { from: ['running'], to: ['running'] },
  /** The mover finished the unit: its restore point (or report) is published. */
  finish: { from: ['running'], to: ['success', 'warning', 'failed'] },
  /** The mover gave up: an error, or a stop it saw. */
  fail: { from: ['running'], to: ['failed', 'cancelled'] },
  /** Back to waiting for another attempt: a dead mover's unit, or a failed unit's retry. */
  requeue: { from: ['running', 'failed'], to: ['pending'] },
  /** The process running it died and no attempt is left. */
  interrupt: { from: ['running'], to: ['interrupted'] },
  /** A stop reached it before any mover did. */
  cancel: { from: ['pending'], to: ['cancelled'] },
  /** The scheduler can never place it (no mover sees its repository). */
  refuse: { from: ['pending'], to: ['failed'] },
} as const satisfies Record<string, { from: readonly RunStatus[]; to: readonly RunStatus[] }>;
export type TaskEvent = keyof typeof TASK_TRANSITIONS;

export const canTask = (event: TaskEvent, status: RunStatus) => (TASK_TRANSITIONS[event].from as readonly RunStatus[]).includes(status);

/** A unit as the rules need it: the attempt the caller read, the movers it must avoid. */
export type UnitState = { attempt: number; excludedMoverIds: readonly string[] };
/** A unit as its mover holds it: the attempt it was given, and itself. */
export type UnitClaim = { attempt: number; moverId: string };

const change = (event: TaskEvent, guard: Omit<TaskGuard, 'status'>, data: TaskData): TaskChange => ({
  event,
  guard: { status: TASK_TRANSITIONS[event].from, ...guard },
  data,
});

/** What an attempt leaves behind and the next one must not show: its mover, figures, times and result. */
const FRESH_ATTEMPT: TaskData = {
  moverId: null,
  startedAt: null,
  endedAt: null,
  readMode: null,
  progress: null,
  lastProgressAt: null,
  bytesRead: 0,
  bytesProcessed: 0,
  bytesTransferred: 0,
  bytesWritten: 0,
  result: null,
};

export const taskRules = {
  claim: (unit: UnitState, moverId: string, now: Date): TaskChange =>
    change('claim', { attempt: unit.attempt }, { status: 'running', moverId, startedAt: now, endedAt: null, error: null }),

  /** A disk's reading began: how it is read, and its own start. */
  startDisk: (claim: UnitClaim, readMode: string, now: Date): TaskChange => change('progress', claim, { readMode, startedAt: now }),

  figures: (
    claim: UnitClaim,
    figures: { bytesRead: number; bytesProcessed: number; bytesTransferred: number; bytesWritten: number; progress: TaskProgressFigures },
    at: Date,
  ): TaskChange => change('progress', claim, { ...figures, lastProgressAt: at }),

  /** A unit without figures (maintenance) shows it is alive: the stalled-unit rule reads this. */
  touch: (claim: UnitClaim, at: Date): TaskChange => change('progress', claim, { lastProgressAt: at }),

  /** A disk's data is all in: its own interval ends; the task stays running until the point is committed. */
  finishDisk: (claim: UnitClaim, now: Date): TaskChange => change('progress', claim, { endedAt: now }),

  /**
   * The unit's outcome. A backup's disks recorded their own ends (`finishDisk`), which stay;
   * a unit without disks (maintenance) ends here, with its result.
   */
  finish: (claim: UnitClaim, outcome: { status: 'success' | 'warning' | 'failed'; endedAt?: Date; result?: UnitResult }): TaskChange =>
    change('finish', claim, {
      status: outcome.status,
      ...(outcome.endedAt ? { endedAt: outcome.endedAt } : {}),
      ...(outcome.result ? { result: outcome.result } : {}),
    }),

  fail: (claim: UnitClaim, outcome: { cancelled: boolean; reason: string }, now: Date): TaskChange =>
    change('fail', claim, { status: outcome.cancelled ? 'cancelled' : 'failed', endedAt: now, error: outcome.reason }),

  /**
   * One way back to waiting, for both a dead mover's unit and a failed unit's retry: the
   * next attempt starts clean, no sooner than `notBefore`, and never again on a mover
   * that died running it. The last attempt's error stays, to show why it waits.
   */
  requeue: (unit: UnitState, options: { notBefore: Date; excludeMover?: string | undefined }): TaskChange =>
    change(
      'requeue',
      { attempt: unit.attempt },
      {
        ...FRESH_ATTEMPT,
        status: 'pending',
        attempt: unit.attempt + 1,
        notBefore: options.notBefore,
        excludedMoverIds:
          options.excludeMover && !unit.excludedMoverIds.includes(options.excludeMover)
            ? [...unit.excludedMoverIds, options.excludeMover]
            : [...unit.excludedMoverIds],
      },
    ),

  interrupt: (unit: UnitState, reason: string, now: Date): TaskChange =>
    change('interrupt', { attempt: unit.attempt }, { status: 'interrupted', endedAt: now, error: reason }),

  cancel: (unit: UnitState, by: string, now: Date): TaskChange =>
    change('cancel', { attempt: unit.attempt }, { status: 'cancelled', endedAt: now, error: `stopped by ${by}` }),

  refuse: (unit: UnitState, reason: string, now: Date): TaskChange =>
    change('refuse', { attempt: unit.attempt }, { status: 'failed', endedAt: now, error: reason }),
};

/** The columns of a session a transition may write. */
export type SessionData = { status?: RunStatus; endedAt?: Date | null; summary?: unknown; stopRequested?: boolean };
export type SessionEvent = keyof typeof SESSION_TRANSITIONS;
export type SessionChange = { event: SessionEvent; guard: { status: readonly RunStatus[] }; data: SessionData };

export const SESSION_TRANSITIONS = {
  /** Its first unit was claimed. */
  begin: { from: ['pending'], to: ['running'] },
  /** A user asked to stop: waiting units are cancelled, running ones see the flag. */
  stop: { from: ['pending', 'running'], to: ['pending', 'running'] },
  /** Every task is final and no retry is due: the result rolled up. */
  close: { from: ['pending', 'running'], to: ['success', 'warning', 'failed', 'cancelled', 'interrupted'] },
} as const satisfies Record<string, { from: readonly RunStatus[]; to: readonly RunStatus[] }>;

export const canSession = (event: SessionEvent, status: RunStatus) => (SESSION_TRANSITIONS[event].from as readonly RunStatus[]).includes(status);

const sessionChange = (event: SessionEvent, data: SessionData): SessionChange => ({ event, guard: { status: SESSION_TRANSITIONS[event].from }, data });

export const sessionRules = {
  begin: (): SessionChange => sessionChange('begin', { status: 'running' }),
  stop: (): SessionChange => sessionChange('stop', { stopRequested: true }),
  close: (status: RunStatus, summary: unknown, now: Date): SessionChange => sessionChange('close', { status, endedAt: now, summary }),
};

/** A new session is waiting for its units, or — with nothing to do — failed at once. */
export function openingStatus(units: number): { status: 'pending' | 'failed'; ended: boolean } {
  return units > 0 ? { status: 'pending', ended: false } : { status: 'failed', ended: true };
}
