import { CodedError } from './errors.js';
import type { z } from 'zod';
import type { jobRetentionSchema } from './job-spec.js';
import { addDays, fromLocal, isTimeZone, toLocal } from './zoned-time.js';

/**
 * Which restore points of one VM a job's retention keeps, as one pure function (the shape
 * of Xen Orchestra's `_getOldEntries`): the controller lists the points, calls this after
 * a run, and deletes what it returns; GC reclaims the chunks later.
 *
 * Every point is a complete map of its disks (packages/repository/FORMAT.md), so any point may go
 * without breaking another: there is no chain rule here.
 */

export type JobRetention = z.output<typeof jobRetentionSchema>;

export type RetentionPoint = { id: string; time: Date };

export type KeepReason =
  /** The newest point overall: never deleted, whatever the policy says. */
  | 'latest'
  /** Among the newest `keepPoints`. */
  | 'last'
  /** Younger than `keepDays`. */
  | 'days'
  /** GFS: the newest point of one of the last `weekly` ISO weeks / `monthly` months / `yearly` years. */
  | 'weekly'
  | 'monthly'
  | 'yearly';

export type RetentionDecision = {
  /** Kept points, newest first, each with every rule that keeps it (in KeepReason order). */
  keep: Map<string, KeepReason[]>;
  /** Points to delete, oldest first. */
  delete: string[];
};

export type RetentionErrorCode = 'RETENTION_TIME_ZONE' | 'RETENTION_BAD_TIME' | 'RETENTION_DUPLICATE_ID' | 'RETENTION_BAD_POLICY';

export class RetentionError extends CodedError<RetentionErrorCode> {}

const REASON_ORDER: readonly KeepReason[] = ['latest', 'last', 'days', 'weekly', 'monthly', 'yearly'];
const DAY_MS = 86_400_000;

type Period = 'weekly' | 'monthly' | 'yearly';

/**
 * A period's number on a line that counts without gaps across year ends, from the local
 * calendar date: consecutive ISO weeks (Monday–Sunday, so 2026-W53 runs into January 2027)
 * are consecutive integers, and so are months and years. Counting back N periods is then
 * subtraction.
 */
function periodIndex(period: Period, local: { year: number; month: number; day: number }): number {
  if (period === 'yearly') return local.year;
  if (period === 'monthly') return local.year * 12 + (local.month - 1);
  // 1970-01-01 was a Thursday: +3 puts each Monday on a multiple of 7.
  const dayNumber = Date.UTC(local.year, local.month - 1, local.day) / DAY_MS;
  return Math.floor((dayNumber + 3) / 7);
}

/** A local reading as a number that orders like the wall clock (minutes, as toLocal gives). */
function wallMs(l: { year: number; month: number; day: number; hour: number; minute: number }): number {
  return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute);
}

/**
 * The first instant `days` calendar days before `now` in the job's zone, at the same
 * wall-clock time: "7 days" across a DST change is 7 local days (167 or 169 hours), as an
 * admin reads the calendar, not 168 hours.
 */
function daysBefore(now: Date, days: number, timeZone: string): number {
  const local = toLocal(now, timeZone);
  const target = { ...addDays(local, -days), hour: local.hour, minute: local.minute };
  const at = fromLocal(target, timeZone).getTime();
  const reads = (t: number) => wallMs(toLocal(new Date(t), timeZone));
  const overshoot = reads(at) - wallMs(target);
  // toLocal drops seconds; zone offsets are whole minutes, so the sub-minute part carries over as is.
  if (overshoot === 0) return at + (now.getTime() % 60_000);
  // The target falls in a spring-forward gap, which fromLocal skips past by the gap's
  // length; every point from the moment the clocks jumped reads at or after the target,
  // so the cutoff is that moment, somewhere in (at - gap, at]: bisect it to the minute.
  let before = at - overshoot;
  let after = at;
  while (after - before > 60_000) {
    const mid = before + Math.floor((after - before) / 120_000) * 60_000;
    if (reads(mid) >= wallMs(target)) after = mid;
    else before = mid;
  }
  return after;
}

function check(points: readonly RetentionPoint[], policy: JobRetention, now: Date, timeZone: string): void {
  if (!isTimeZone(timeZone)) throw new RetentionError('RETENTION_TIME_ZONE', `unknown time zone "${timeZone}" (expected an IANA name such as Europe/Berlin)`);
  if (Number.isNaN(now.getTime())) throw new RetentionError('RETENTION_BAD_TIME', 'the current time is not a valid date');
  if (policy.keepPoints === undefined && policy.keepDays === undefined) {
    // The schema refuses this; a caller that skipped it would otherwise delete everything but the latest.
    throw new RetentionError('RETENTION_BAD_POLICY', 'the policy keeps neither a number of points nor of days');
  }
  const seen = new Set<string>();
  for (const p of points) {
    if (Number.isNaN(p.time.getTime())) throw new RetentionError('RETENTION_BAD_TIME', `restore point ${p.id} has an invalid time`);
    if (seen.has(p.id)) throw new RetentionError('RETENTION_DUPLICATE_ID', `restore point ${p.id} is listed twice`);
    seen.add(p.id);
  }
}

/**
 * Splits a VM's restore points into those the policy keeps (with why) and those to delete.
 *
 * - `keepPoints`: the newest N points. `keepDays`: every point at most D local calendar
 *   days old (a point exactly D days old is kept). With both, a point is kept if either
 *   keeps it.
 * - GFS: for each of the last `weekly` ISO weeks, `monthly` months, `yearly` years in the
 *   job's time zone, the newest point of that period. The count runs back from `now`'s
 *   period, which counts only if it already has a point (a weekly slot is not spent on a
 *   week that has just begun); a past period without a point still uses its slot, because
 *   "4 weekly" means the last four weeks of the calendar. Newest rather than oldest of the
 *   period: Veeam keeps one full per period, and the newest holds the period's last state.
 * - The newest point overall is never deleted.
 *
 * Points may come in any order and share times; ties sort by id so the answer is stable.
 * Throws RetentionError on an unknown time zone, an invalid date or a repeated id.
 */
export function selectPointsToDelete(points: readonly RetentionPoint[], policy: JobRetention, now: Date, timeZone: string): RetentionDecision {
  check(points, policy, now, timeZone);
  const sorted = [...points].sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const reasons = new Map<string, Set<KeepReason>>();
  const add = (id: string, reason: KeepReason) => {
    let set = reasons.get(id);
    if (!set) reasons.set(id, (set = new Set()));
    set.add(reason);
  };

  if (sorted[0]) add(sorted[0].id, 'latest');
  if (policy.keepPoints !== undefined) for (const p of sorted.slice(0, policy.keepPoints)) add(p.id, 'last');
  if (policy.keepDays !== undefined) {
    const cutoff = daysBefore(now, policy.keepDays, timeZone);
    for (const p of sorted) if (p.time.getTime() >= cutoff) add(p.id, 'days');
  }

  const locals = new Map(sorted.map((p) => [p.id, toLocal(p.time, timeZone)]));
  const nowLocal = toLocal(now, timeZone);
  for (const period of ['weekly', 'monthly', 'yearly'] as const) {
    const count = policy.gfs[period];
    if (count === 0) continue;
    const current = periodIndex(period, nowLocal);
    // Newest first, so the first point met in a period is the one it keeps.
    const newestOf = new Map<number, string>();
    for (const p of sorted) {
      const index = periodIndex(period, locals.get(p.id)!);
      if (!newestOf.has(index)) newestOf.set(index, p.id);
    }
    const last = newestOf.has(current) ? current : current - 1;
    for (let index = last; index > last - count; index--) {
      const id = newestOf.get(index);
      if (id !== undefined) add(id, period);
    }
  }

  const keep = new Map<string, KeepReason[]>();
  const remove: string[] = [];
  for (const p of sorted) {
    const set = reasons.get(p.id);
    if (set)
      keep.set(
        p.id,
        REASON_ORDER.filter((r) => set.has(r)),
      );
    else remove.push(p.id);
  }
  return { keep, delete: remove.reverse() };
}
