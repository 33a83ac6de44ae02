import { addDays, daysInMonth, fromLocal, isTimeZone, toLocal } from './zoned-time.js';

/**
 * When a backup job runs, as Veeam's schedule options: daily at times on chosen weekdays,
 * monthly on a day, every N hours, after another job, or only when started.
 */
export type Schedule =
  | { kind: 'manual' }
  | { kind: 'daily'; times: string[]; weekdays: number[] }
  | { kind: 'monthly'; time: string; day: number | 'last' }
  | { kind: 'periodic'; everyHours: number; startTime?: string }
  | { kind: 'after'; jobId: string };

/** Hours of the week in which runs may start: `allowed[weekday][hour]`, weekday 0 = Sunday. */
export type BackupWindow = { allowed: boolean[][] };

export type ScheduleIssue = { field: string; message: string };

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

function parseTime(value: string): { hour: number; minute: number } {
  const m = TIME.exec(value)!;
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

/** Every problem, each naming its field; empty when the schedule is valid. */
export function scheduleIssues(schedule: Schedule, timeZone: string, window?: BackupWindow | null): ScheduleIssue[] {
  const issues: ScheduleIssue[] = [];
  const time = (field: string, value: string) => {
    if (!TIME.test(value)) issues.push({ field, message: `"${value}" is not a time of day (HH:MM, 00:00–23:59)` });
  };
  if (!isTimeZone(timeZone)) issues.push({ field: 'timeZone', message: `"${timeZone}" is not a known time zone` });
  switch (schedule.kind) {
    case 'daily':
      if (schedule.times.length === 0) issues.push({ field: 'schedule.times', message: 'at least one time is needed' });
      schedule.times.forEach((t, i) => time(`schedule.times.${i}`, t));
      if (schedule.weekdays.length === 0) issues.push({ field: 'schedule.weekdays', message: 'at least one weekday is needed' });
      schedule.weekdays.forEach((d, i) => {
        if (!Number.isInteger(d) || d < 0 || d > 6) issues.push({ field: `schedule.weekdays.${i}`, message: 'weekdays are 0 (Sunday) to 6' });
      });
      break;
    case 'monthly':
      time('schedule.time', schedule.time);
      if (schedule.day !== 'last' && (!Number.isInteger(schedule.day) || schedule.day < 1 || schedule.day > 31)) {
        issues.push({ field: 'schedule.day', message: 'the day is 1–31 or "last"' });
      }
      break;
    case 'periodic':
      if (!Number.isInteger(schedule.everyHours) || schedule.everyHours < 1 || schedule.everyHours > 168) {
        issues.push({ field: 'schedule.everyHours', message: 'every 1 to 168 hours' });
      }
      if (schedule.startTime !== undefined) time('schedule.startTime', schedule.startTime);
      break;
    case 'after':
      if (!schedule.jobId) issues.push({ field: 'schedule.jobId', message: 'the job to run after is needed' });
      break;
    case 'manual':
      break;
  }
  if (window) {
    const ok = window.allowed.length === 7 && window.allowed.every((day) => day.length === 24);
    if (!ok) issues.push({ field: 'window.allowed', message: 'the window is 7 days of 24 hours' });
    else if (!window.allowed.some((day) => day.some(Boolean))) {
      issues.push({ field: 'window.allowed', message: 'the window allows no hour at all' });
    }
  }
  return issues;
}

function inWindow(instant: Date, timeZone: string, window?: BackupWindow | null): boolean {
  if (!window) return true;
  const l = toLocal(instant, timeZone);
  const weekday = new Date(Date.UTC(l.year, l.month - 1, l.day)).getUTCDay();
  return window.allowed[weekday]?.[l.hour] === true;
}

/** Candidate run instants on one local date, in order. */
function runsOn(schedule: Schedule, date: { year: number; month: number; day: number; weekday: number }, timeZone: string): Date[] {
  const at = (t: string) => fromLocal({ ...date, ...parseTime(t) }, timeZone);
  switch (schedule.kind) {
    case 'daily':
      return schedule.weekdays.includes(date.weekday) ? [...schedule.times].sort().map(at) : [];
    case 'monthly': {
      const last = daysInMonth(date.year, date.month);
      // A day the month lacks (31 in April) runs on the month's last day.
      const day = schedule.day === 'last' ? last : Math.min(schedule.day, last);
      return date.day === day ? [at(schedule.time)] : [];
    }
    case 'periodic': {
      const start = parseTime(schedule.startTime ?? '00:00');
      const runs: Date[] = [];
      for (let h = start.hour; h < 24; h += schedule.everyHours) runs.push(fromLocal({ ...date, hour: h, minute: start.minute }, timeZone));
      return runs;
    }
    default:
      return [];
  }
}

/**
 * The first run strictly after `after`, inside the backup window; null for manual and
 * chained jobs (they start on demand or when their predecessor ends). Periodic runs restart
 * their count at `startTime` each local day, as "every N hours from HH:MM" does.
 */
export function nextRun(schedule: Schedule, after: Date, timeZone: string, window?: BackupWindow | null): Date | null {
  if (schedule.kind === 'manual' || schedule.kind === 'after') return null;
  const today = toLocal(after, timeZone);
  // Two years of days covers any monthly schedule and any window.
  for (let i = -1; i < 800; i++) {
    const date = addDays(today, i);
    for (const run of runsOn(schedule, date, timeZone)) {
      if (run.getTime() > after.getTime() && inWindow(run, timeZone, window)) return run;
    }
  }
  return null;
}
