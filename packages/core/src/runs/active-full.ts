import type { JobSpec } from '../job-spec.js';
import { toLocal } from '../zoned-time.js';

export type ActiveFullRule = JobSpec['options']['activeFull'];

/**
 * Whether a run started at `now` reads every disk whole instead of its changes (Veeam's
 * "active full"), on the job's weekday or day of the month in its own time zone. A day
 * past the month's end (the 31st in April) falls on its last day.
 */
export function activeFullToday(rule: ActiveFullRule, now: Date, timeZone: string): boolean {
  if (rule.kind === 'never') return false;
  const local = toLocal(now, timeZone);
  if (rule.kind === 'weekly') return local.weekday === rule.weekday;
  const last = new Date(Date.UTC(local.year, local.month, 0)).getUTCDate();
  return rule.day === 'last' ? local.day === last : local.day === Math.min(rule.day, last);
}
