import { describe, expect, it } from 'vitest';
import { nextRun, scheduleIssues, type BackupWindow, type Schedule } from './schedule.js';
import { fromLocal, toLocal } from './zoned-time.js';

const WEEKDAYS = [1, 2, 3, 4, 5];

describe('nextRun', () => {
  const table: [string, Schedule, string, string, string | null][] = [
    ['daily: later today', { kind: 'daily', times: ['22:00'], weekdays: WEEKDAYS }, 'UTC', '2026-11-23T10:00:00Z', '2026-11-23T22:00:00.000Z'],
    [
      'daily: strictly after (at the time → next day)',
      { kind: 'daily', times: ['22:00'], weekdays: WEEKDAYS },
      'UTC',
      '2026-11-23T22:00:00Z',
      '2026-11-24T22:00:00.000Z',
    ],
    [
      'daily on weekdays: Friday night → Monday',
      { kind: 'daily', times: ['22:00'], weekdays: WEEKDAYS },
      'UTC',
      '2026-11-27T23:00:00Z',
      '2026-11-30T22:00:00.000Z',
    ],
    [
      'daily: several times, unsorted',
      { kind: 'daily', times: ['18:00', '06:00'], weekdays: [0, 1, 2, 3, 4, 5, 6] },
      'UTC',
      '2026-11-23T07:00:00Z',
      '2026-11-23T18:00:00.000Z',
    ],
    [
      'daily in a zone: 22:00 Berlin is 21:00 UTC in winter',
      { kind: 'daily', times: ['22:00'], weekdays: WEEKDAYS },
      'Europe/Berlin',
      '2026-11-23T12:00:00Z',
      '2026-11-23T21:00:00.000Z',
    ],
    [
      'daily in a zone, local date differs from UTC date',
      { kind: 'daily', times: ['01:00'], weekdays: [2] },
      'Asia/Tokyo',
      '2026-11-23T12:00:00Z',
      '2026-11-23T16:00:00.000Z',
    ],
    [
      'spring forward: 02:30 does not exist → 03:30 CEST',
      { kind: 'daily', times: ['02:30'], weekdays: [0] },
      'Europe/Berlin',
      '2026-03-28T12:00:00Z',
      '2026-03-29T01:30:00.000Z',
    ],
    [
      'fall back: 02:30 occurs twice → the first',
      { kind: 'daily', times: ['02:30'], weekdays: [0] },
      'Europe/Berlin',
      '2026-10-24T12:00:00Z',
      '2026-10-25T00:30:00.000Z',
    ],
    ['New York spring forward', { kind: 'daily', times: ['02:15'], weekdays: [0] }, 'America/New_York', '2026-03-07T12:00:00Z', '2026-03-08T07:15:00.000Z'],
    [
      'monthly on the 31st in a 30-day month → the 30th',
      { kind: 'monthly', time: '03:00', day: 31 },
      'UTC',
      '2026-04-01T00:00:00Z',
      '2026-04-30T03:00:00.000Z',
    ],
    ['monthly on the last day, leap February', { kind: 'monthly', time: '03:00', day: 'last' }, 'UTC', '2028-02-01T00:00:00Z', '2028-02-29T03:00:00.000Z'],
    ['monthly: past this month → next month', { kind: 'monthly', time: '03:00', day: 15 }, 'UTC', '2026-11-16T00:00:00Z', '2026-12-15T03:00:00.000Z'],
    [
      'monthly at month end in a zone ahead of UTC',
      { kind: 'monthly', time: '00:30', day: 1 },
      'Pacific/Auckland',
      '2026-11-20T00:00:00Z',
      '2026-11-30T11:30:00.000Z',
    ],
    ['periodic: every 6 hours from midnight', { kind: 'periodic', everyHours: 6 }, 'UTC', '2026-11-23T07:00:00Z', '2026-11-23T12:00:00.000Z'],
    [
      'periodic: from 01:30, past the last slot → tomorrow 01:30',
      { kind: 'periodic', everyHours: 8, startTime: '01:30' },
      'UTC',
      '2026-11-23T18:00:00Z',
      '2026-11-24T01:30:00.000Z',
    ],
    ['manual never runs by itself', { kind: 'manual' }, 'UTC', '2026-11-23T07:00:00Z', null],
    ['after another job: started by that job', { kind: 'after', jobId: 'j' }, 'UTC', '2026-11-23T07:00:00Z', null],
  ];
  it.each(table)('%s', (_name, schedule, tz, after, expected) => {
    expect(nextRun(schedule, new Date(after), tz)?.toISOString() ?? null).toBe(expected);
  });

  it('skips runs outside the backup window', () => {
    const allowed = Array.from({ length: 7 }, (_, day) => Array.from({ length: 24 }, () => day !== 6)); // no Saturday
    const window: BackupWindow = { allowed };
    const daily: Schedule = { kind: 'daily', times: ['20:00'], weekdays: [0, 1, 2, 3, 4, 5, 6] };
    // Friday 21:00 → Saturday 20:00 is outside → Sunday 20:00.
    expect(nextRun(daily, new Date('2026-11-27T21:00:00Z'), 'UTC', window)?.toISOString()).toBe('2026-11-29T20:00:00.000Z');
  });

  it('judges the window in the job’s time zone', () => {
    // Allowed only 22:00–23:00 local; a 22:00 Berlin run is 21:00 UTC.
    const allowed = Array.from({ length: 7 }, () => Array.from({ length: 24 }, (_, h) => h === 22));
    const daily: Schedule = { kind: 'daily', times: ['22:00'], weekdays: [0, 1, 2, 3, 4, 5, 6] };
    expect(nextRun(daily, new Date('2026-11-23T12:00:00Z'), 'Europe/Berlin', { allowed })?.toISOString()).toBe('2026-11-23T21:00:00.000Z');
  });
});

describe('scheduleIssues', () => {
  const table: [string, Schedule, string, string[]][] = [
    ['a valid daily schedule', { kind: 'daily', times: ['22:00'], weekdays: WEEKDAYS }, 'UTC', []],
    ['25:00', { kind: 'daily', times: ['25:00'], weekdays: WEEKDAYS }, 'UTC', ['schedule.times.0']],
    ['24:00', { kind: 'daily', times: ['08:00', '24:00'], weekdays: WEEKDAYS }, 'UTC', ['schedule.times.1']],
    ['minutes past 59', { kind: 'monthly', time: '10:60', day: 1 }, 'UTC', ['schedule.time']],
    ['no times', { kind: 'daily', times: [], weekdays: WEEKDAYS }, 'UTC', ['schedule.times']],
    ['weekday 7', { kind: 'daily', times: ['01:00'], weekdays: [7] }, 'UTC', ['schedule.weekdays.0']],
    ['day 32', { kind: 'monthly', time: '01:00', day: 32 }, 'UTC', ['schedule.day']],
    ['every 0 hours', { kind: 'periodic', everyHours: 0 }, 'UTC', ['schedule.everyHours']],
    ['an unknown time zone', { kind: 'manual' }, 'Mars/Olympus', ['timeZone']],
  ];
  it.each(table)('%s', (_name, schedule, tz, fields) => {
    expect(scheduleIssues(schedule, tz).map((i) => i.field)).toEqual(fields);
  });

  it('refuses a window that allows nothing', () => {
    const allowed = Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => false));
    expect(scheduleIssues({ kind: 'manual' }, 'UTC', { allowed }).map((i) => i.field)).toEqual(['window.allowed']);
  });
});

describe('zoned time', () => {
  it('round-trips local times across a year in several zones', () => {
    for (const tz of ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata']) {
      for (let day = 0; day < 365; day += 7) {
        const instant = new Date(Date.UTC(2026, 0, 1 + day, 13, 45));
        const local = toLocal(instant, tz);
        expect(fromLocal(local, tz).toISOString()).toBe(instant.toISOString());
      }
    }
  });
});
