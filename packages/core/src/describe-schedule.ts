import type { Schedule } from './schedule.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** A schedule in words, for the jobs list and the wizard's summary. `jobName` names an "after" job. */
export function describeSchedule(s: Schedule, jobName?: (id: string) => string | undefined): string {
  switch (s.kind) {
    case 'daily':
      return `daily at ${s.times.join(', ')} on ${s.weekdays.length === 7 ? 'every day' : s.weekdays.map((d) => DAYS[d]).join(' ')}`;
    case 'monthly':
      return `monthly at ${s.time} on ${s.day === 'last' ? 'the last day' : `day ${s.day}`}`;
    case 'periodic':
      return `every ${s.everyHours} h${s.startTime ? ` from ${s.startTime}` : ''}`;
    case 'after':
      return `after ${jobName?.(s.jobId) ?? 'another job'}`;
    default:
      return 'only when started';
  }
}
