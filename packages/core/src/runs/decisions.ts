import type { BackupSummary, UnitResult } from './figures.js';
import type { SessionKind } from './kinds.js';
import { isFinal, rollUp, type RunStatus } from './status.js';
import { taskRules, type TaskChange, type UnitState } from './transitions.js';

/** A job's "retry failed VMs N times, W minutes apart"; maintenance has none (the next run is its retry). */
export type Retries = { count: number; waitMinutes: number };
export const NO_RETRIES: Retries = { count: 0, waitMinutes: 1 };

/**
 * The process running this unit died: its mover stopped heartbeating (`how: 'silent'`), it
 * started again and found the unit still held by its previous life (`how: 'restarted'`), or
 * the unit gave no sign of life for too long on a mover that still heartbeats (`how:
 * 'stalled'`: its message was lost with a Redis that restarted empty, or its work hung).
 * The unit waits for a mover again while the retries last and no one asked to stop — a
 * silent mover is avoided from then on, a restarted one is not (it runs again, and may be
 * the only one) — and past that it is interrupted: the work did not fail, its process died.
 */
export function onMoverLost(
  unit: UnitState,
  ctx: { retries: Retries; stopRequested: boolean; moverId: string; how: 'silent' | 'restarted' | 'stalled'; reason: string; now: Date },
): TaskChange {
  if (unit.attempt <= ctx.retries.count && !ctx.stopRequested) {
    return taskRules.requeue(unit, { notBefore: ctx.now, excludeMover: ctx.how === 'silent' ? ctx.moverId : undefined });
  }
  return taskRules.interrupt(unit, ctx.reason, ctx.now);
}

/** One task of a session, as the close rule reads it. */
export type ClosingTask = {
  unit: string;
  status: RunStatus;
  attempt: number;
  excludedMoverIds: readonly string[];
  bytesRead: number;
  bytesTransferred: number;
  result: UnitResult | null;
};

export type CloseDecision =
  | { kind: 'wait' }
  | { kind: 'retry'; notBefore: Date; units: { unit: string; attempt: number; change: TaskChange }[] }
  | { kind: 'close'; status: RunStatus; summary: BackupSummary | UnitResult | null };

const unitsOf = (tasks: readonly ClosingTask[]) => {
  const units = new Map<string, ClosingTask[]>();
  for (const t of tasks) units.set(t.unit, [...(units.get(t.unit) ?? []), t]);
  return units;
};

/**
 * A session whose tasks have all ended either retries its failed units (the job's retry
 * count, after its wait; not after a stop) or closes: its result rolled up from its
 * tasks and its own warnings, with the summary its kind keeps.
 */
export function decideClose(session: {
  kind: SessionKind;
  stopRequested: boolean;
  warnings: number;
  startedAt: Date;
  tasks: readonly ClosingTask[];
  retries: Retries;
  now: Date;
}): CloseDecision {
  if (session.tasks.some((t) => !isFinal(t.status))) return { kind: 'wait' };
  const units = unitsOf(session.tasks);
  if (!session.stopRequested) {
    const notBefore = new Date(session.now.getTime() + session.retries.waitMinutes * 60_000);
    const retry = [...units]
      .filter(([, tasks]) => tasks.some((t) => t.status === 'failed') && tasks[0]!.attempt <= session.retries.count)
      .map(([unit, tasks]) => ({ unit, attempt: tasks[0]!.attempt, change: taskRules.requeue(tasks[0]!, { notBefore }) }));
    if (retry.length > 0) return { kind: 'retry', notBefore, units: retry };
  }
  const status = rollUp(
    session.tasks.map((t) => t.status),
    session.warnings,
  );
  // A maintenance or restore session is one unit: its result is the summary.
  if (session.kind !== 'backup') return { kind: 'close', status, summary: session.tasks[0]?.result ?? null };
  const results = [...units.values()].map((tasks) => rollUp(tasks.map((t) => t.status)));
  return {
    kind: 'close',
    status,
    summary: {
      vms: results.length,
      success: results.filter((r) => r === 'success').length,
      warning: results.filter((r) => r === 'warning').length,
      failed: results.filter((r) => r !== 'success' && r !== 'warning').length,
      bytesRead: session.tasks.reduce((n, t) => n + t.bytesRead, 0),
      bytesTransferred: session.tasks.reduce((n, t) => n + t.bytesTransferred, 0),
      durationMs: session.now.getTime() - session.startedAt.getTime(),
    },
  };
}

/** A unit whose last sign of life (figures, a heartbeat of its own, its claim) is older than this is stalled. */
export const STALLED_AFTER_MS = 10 * 60_000;

export function isStalled(lastSignOfLife: Date, now: Date, stalledAfterMs = STALLED_AFTER_MS): boolean {
  return now.getTime() - lastSignOfLife.getTime() > stalledAfterMs;
}

/**
 * A repository's rate limit (bytes/s, null: none) shared equally by the units that use it
 * now, each counting once however many disks it has (a VM reads one disk at a time).
 */
export function rateShare(limit: number | null, runningUnits: number): number | null {
  if (limit === null) return null;
  return limit / Math.max(1, runningUnits);
}
