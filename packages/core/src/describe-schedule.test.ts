import { describe, expect, it } from 'vitest';
import { describeSchedule } from './describe-schedule.js';
import type { Schedule } from './schedule.js';

describe('describeSchedule', () => {
  it.each<[Schedule, string]>([
    [{ kind: 'manual' }, 'only when started'],
    [{ kind: 'daily', times: ['22:00'], weekdays: [1, 2, 3, 4, 5] }, 'daily at 22:00 on Mon Tue Wed Thu Fri'],
    [{ kind: 'daily', times: ['01:00', '13:00'], weekdays: [0, 1, 2, 3, 4, 5, 6] }, 'daily at 01:00, 13:00 on every day'],
    [{ kind: 'monthly', time: '23:30', day: 'last' }, 'monthly at 23:30 on the last day'],
    [{ kind: 'monthly', time: '02:00', day: 15 }, 'monthly at 02:00 on day 15'],
    [{ kind: 'periodic', everyHours: 4 }, 'every 4 h'],
    [{ kind: 'periodic', everyHours: 6, startTime: '00:30' }, 'every 6 h from 00:30'],
  ])('%j → %s', (schedule, words) => {
    expect(describeSchedule(schedule)).toBe(words);
  });

  it('names the job an "after" schedule follows, when it is known', () => {
    const s: Schedule = { kind: 'after', jobId: '8d5e1f0e-0000-4000-8000-000000000001' };
    expect(describeSchedule(s, (id) => (id === s.jobId ? 'Nightly' : undefined))).toBe('after Nightly');
    expect(describeSchedule(s, () => undefined)).toBe('after another job');
  });
});
