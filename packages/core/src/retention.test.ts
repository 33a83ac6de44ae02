import { describe, expect, it } from 'vitest';
import { jobRetentionSchema } from './job-spec.js';
import { RetentionError, selectPointsToDelete, type KeepReason, type RetentionPoint } from './retention.js';

type PolicyInput = Parameters<typeof jobRetentionSchema.parse>[0];
/** Through the job schema, so that the tests see the defaults a real job has (gfs zeros). */
const policy = (input: PolicyInput) => jobRetentionSchema.parse(input);
/** A point's id is its time as written, so that expectations read as times. */
const points = (...times: string[]): RetentionPoint[] => times.map((t) => ({ id: t, time: new Date(t) }));

type Row = [name: string, times: string[], policy: PolicyInput, now: string, timeZone: string, keep: Record<string, KeepReason[]>, remove: string[]];

const table: Row[] = [
  ['empty input', [], { keepPoints: 3 }, '2026-11-22T12:00Z', 'UTC', {}, []],
  ['one point', ['2026-11-22T10:00Z'], { keepPoints: 1 }, '2026-11-22T12:00Z', 'UTC', { '2026-11-22T10:00Z': ['latest', 'last'] }, []],
  [
    'the latest point survives a policy that would drop it',
    ['2026-01-01T10:00Z'],
    { keepDays: 7 },
    '2026-11-22T12:00Z',
    'UTC',
    { '2026-01-01T10:00Z': ['latest'] },
    [],
  ],
  [
    'keep last 3 of 5, unsorted input',
    ['2026-11-20T10:00Z', '2026-11-22T10:00Z', '2026-11-18T10:00Z', '2026-11-21T10:00Z', '2026-11-19T10:00Z'],
    { keepPoints: 3 },
    '2026-11-22T12:00Z',
    'UTC',
    { '2026-11-22T10:00Z': ['latest', 'last'], '2026-11-21T10:00Z': ['last'], '2026-11-20T10:00Z': ['last'] },
    ['2026-11-18T10:00Z', '2026-11-19T10:00Z'],
  ],
  [
    'everything kept',
    ['2026-11-20T10:00Z', '2026-11-21T10:00Z', '2026-11-22T10:00Z'],
    { keepPoints: 100 },
    '2026-11-22T12:00Z',
    'UTC',
    { '2026-11-22T10:00Z': ['latest', 'last'], '2026-11-21T10:00Z': ['last'], '2026-11-20T10:00Z': ['last'] },
    [],
  ],
  [
    'keep days: exactly D days old is kept, a millisecond older is not',
    ['2026-11-15T12:00:00.000Z', '2026-11-15T11:59:59.999Z', '2026-11-15T12:00:00.001Z', '2026-11-22T11:00:00.000Z'],
    { keepDays: 7 },
    '2026-11-22T12:00:00.000Z',
    'UTC',
    { '2026-11-22T11:00:00.000Z': ['latest', 'days'], '2026-11-15T12:00:00.001Z': ['days'], '2026-11-15T12:00:00.000Z': ['days'] },
    ['2026-11-15T11:59:59.999Z'],
  ],
  [
    // 7 local days back from 13:00 CET on Oct 30 is 13:00 CEST on Oct 23: 169 hours, not 168.
    'keep days counts local days across a DST change',
    ['2026-10-23T11:00Z', '2026-10-23T10:59Z', '2026-10-30T11:00Z'],
    { keepDays: 7 },
    '2026-10-30T12:00Z',
    'Europe/Berlin',
    { '2026-10-30T11:00Z': ['latest', 'days'], '2026-10-23T11:00Z': ['days'] },
    ['2026-10-23T10:59Z'],
  ],
  [
    // 02:30 on 2026-03-29 does not exist in Berlin: the cutoff is the jump to 03:00 CEST (01:00Z).
    'keep days: a cutoff in a skipped hour is the moment the clocks jump',
    ['2026-03-29T01:00Z', '2026-03-29T00:59Z', '2026-04-05T00:00Z'],
    { keepDays: 7 },
    '2026-04-05T00:30Z',
    'Europe/Berlin',
    { '2026-04-05T00:00Z': ['latest', 'days'], '2026-03-29T01:00Z': ['days'] },
    ['2026-03-29T00:59Z'],
  ],
  [
    'keep points and keep days together: either rule keeps',
    ['2026-11-22T10:00Z', '2026-11-21T10:00Z', '2026-11-20T10:00Z', '2026-11-19T13:00Z', '2026-11-19T11:00Z', '2026-11-01T10:00Z'],
    { keepPoints: 2, keepDays: 3 },
    '2026-11-22T12:00Z',
    'UTC',
    {
      '2026-11-22T10:00Z': ['latest', 'last', 'days'],
      '2026-11-21T10:00Z': ['last', 'days'],
      '2026-11-20T10:00Z': ['days'],
      '2026-11-19T13:00Z': ['days'],
    },
    ['2026-11-01T10:00Z', '2026-11-19T11:00Z'],
  ],
  [
    'keep points reaches further back than keep days',
    ['2026-11-22T10:00Z', '2026-11-15T10:00Z', '2026-11-08T10:00Z', '2026-11-01T10:00Z'],
    { keepPoints: 3, keepDays: 1 },
    '2026-11-22T12:00Z',
    'UTC',
    { '2026-11-22T10:00Z': ['latest', 'last', 'days'], '2026-11-15T10:00Z': ['last'], '2026-11-08T10:00Z': ['last'] },
    ['2026-11-01T10:00Z'],
  ],
  [
    // 2026 has an ISO week 53 (Mon Dec 28 – Sun Jan 3); Jan 4 2027 starts 2027-W01.
    'GFS weekly across ISO week 53',
    ['2027-01-12T12:00Z', '2027-01-05T12:00Z', '2027-01-04T00:00Z', '2027-01-03T23:00Z', '2026-12-31T12:00Z', '2026-12-28T00:00Z', '2026-12-27T23:59Z'],
    { keepPoints: 1, gfs: { weekly: 3 } },
    '2027-01-13T12:00Z',
    'UTC',
    { '2027-01-12T12:00Z': ['latest', 'last', 'weekly'], '2027-01-05T12:00Z': ['weekly'], '2027-01-03T23:00Z': ['weekly'] },
    ['2026-12-27T23:59Z', '2026-12-28T00:00Z', '2026-12-31T12:00Z', '2027-01-04T00:00Z'],
  ],
  [
    'GFS weekly: the current week counts only once it has a point',
    ['2027-01-08T12:00Z', '2027-01-01T12:00Z', '2026-12-20T12:00Z'],
    { keepPoints: 1, gfs: { weekly: 2 } },
    '2027-01-13T12:00Z',
    'UTC',
    { '2027-01-08T12:00Z': ['latest', 'last', 'weekly'], '2027-01-01T12:00Z': ['weekly'] },
    ['2026-12-20T12:00Z'],
  ],
  [
    'GFS weekly: a week without a point still uses its slot',
    ['2027-01-12T12:00Z', '2027-01-01T12:00Z', '2026-12-24T12:00Z'],
    { keepPoints: 1, gfs: { weekly: 3 } },
    '2027-01-13T12:00Z',
    'UTC',
    { '2027-01-12T12:00Z': ['latest', 'last', 'weekly'], '2027-01-01T12:00Z': ['weekly'] },
    ['2026-12-24T12:00Z'],
  ],
  [
    'GFS monthly with month ends in a leap year',
    ['2028-03-01T00:00Z', '2028-02-29T23:59Z', '2028-02-28T12:00Z', '2028-01-31T23:59:59Z', '2028-01-01T00:00Z', '2027-12-31T23:00Z'],
    { keepPoints: 1, gfs: { monthly: 3 } },
    '2028-03-15T00:00Z',
    'UTC',
    { '2028-03-01T00:00Z': ['latest', 'last', 'monthly'], '2028-02-29T23:59Z': ['monthly'], '2028-01-31T23:59:59Z': ['monthly'] },
    ['2027-12-31T23:00Z', '2028-01-01T00:00Z', '2028-02-28T12:00Z'],
  ],
  [
    'GFS monthly: February 28th ends a common year’s February',
    ['2027-03-01T00:30Z', '2027-02-28T23:00Z', '2027-02-27T12:00Z', '2027-01-31T12:00Z'],
    { keepPoints: 1, gfs: { monthly: 2 } },
    '2027-03-10T00:00Z',
    'UTC',
    { '2027-03-01T00:30Z': ['latest', 'last', 'monthly'], '2027-02-28T23:00Z': ['monthly'] },
    ['2027-01-31T12:00Z', '2027-02-27T12:00Z'],
  ],
  [
    'GFS yearly',
    ['2026-06-01T00:00Z', '2025-12-31T23:00Z', '2025-01-01T00:00Z', '2024-12-31T00:00Z', '2023-12-31T00:00Z'],
    { keepPoints: 1, gfs: { yearly: 3 } },
    '2026-11-22T12:00Z',
    'UTC',
    { '2026-06-01T00:00Z': ['latest', 'last', 'yearly'], '2025-12-31T23:00Z': ['yearly'], '2024-12-31T00:00Z': ['yearly'] },
    ['2023-12-31T00:00Z', '2025-01-01T00:00Z'],
  ],
  [
    'GFS all three at once, one point kept for several reasons',
    ['2026-11-22T10:00Z', '2026-11-15T10:00Z', '2026-10-31T10:00Z', '2025-12-31T10:00Z', '2025-06-30T10:00Z'],
    { keepPoints: 1, gfs: { weekly: 2, monthly: 2, yearly: 2 } },
    '2026-11-22T12:00Z',
    'UTC',
    {
      '2026-11-22T10:00Z': ['latest', 'last', 'weekly', 'monthly', 'yearly'],
      '2026-11-15T10:00Z': ['weekly'],
      '2026-10-31T10:00Z': ['monthly'],
      '2025-12-31T10:00Z': ['yearly'],
    },
    ['2025-06-30T10:00Z'],
  ],
];

// The same instants judged in UTC and in a zone where they fall in another month or year.
const zoneTable: Row[] = [
  ...(['Pacific/Auckland', 'UTC'] as const).map((tz): Row => {
    // 11:30Z on Nov 30 is 00:30 on Dec 1 in Auckland (NZDT, UTC+13); 10:00Z is still Nov 30 there.
    const times = ['2026-11-30T11:30Z', '2026-11-30T10:00Z', '2026-11-29T00:00Z'];
    return tz === 'UTC'
      ? [
          'monthly in UTC: all in November',
          times,
          { keepPoints: 1, gfs: { monthly: 2 } },
          '2026-12-15T00:00Z',
          tz,
          { '2026-11-30T11:30Z': ['latest', 'last', 'monthly'] },
          ['2026-11-29T00:00Z', '2026-11-30T10:00Z'],
        ]
      : [
          'monthly in Auckland: one point is in December',
          times,
          { keepPoints: 1, gfs: { monthly: 2 } },
          '2026-12-15T00:00Z',
          tz,
          { '2026-11-30T11:30Z': ['latest', 'last', 'monthly'], '2026-11-30T10:00Z': ['monthly'] },
          ['2026-11-29T00:00Z'],
        ];
  }),
  ...(['America/Los_Angeles', 'UTC'] as const).map((tz): Row => {
    // 07:30Z on Jan 1 2027 is 23:30 on Dec 31 2026 in Los Angeles (PST, UTC-8).
    const times = ['2027-03-01T00:00Z', '2027-01-01T07:30Z', '2026-12-01T00:00Z'];
    return tz === 'UTC'
      ? [
          'yearly in UTC',
          times,
          { keepPoints: 1, gfs: { yearly: 2 } },
          '2027-06-01T00:00Z',
          tz,
          { '2027-03-01T00:00Z': ['latest', 'last', 'yearly'], '2026-12-01T00:00Z': ['yearly'] },
          ['2027-01-01T07:30Z'],
        ]
      : [
          'yearly in Los Angeles: New Year’s Eve 23:30 is still 2026',
          times,
          { keepPoints: 1, gfs: { yearly: 2 } },
          '2027-06-01T00:00Z',
          tz,
          { '2027-03-01T00:00Z': ['latest', 'last', 'yearly'], '2027-01-01T07:30Z': ['yearly'] },
          ['2026-12-01T00:00Z'],
        ];
  }),
  [
    // 07:30Z on Dec 1 is 23:30 on Nov 30 in Los Angeles: the November point of the month.
    'monthly in Los Angeles around midnight at month end',
    ['2026-12-10T00:00Z', '2026-12-01T07:30Z', '2026-11-30T20:00Z'],
    { keepPoints: 1, gfs: { monthly: 2 } },
    '2026-12-15T00:00Z',
    'America/Los_Angeles',
    { '2026-12-10T00:00Z': ['latest', 'last', 'monthly'], '2026-12-01T07:30Z': ['monthly'] },
    ['2026-11-30T20:00Z'],
  ],
  [
    // Berlin falls back on Sun 2026-10-25: 23:30Z is Monday 00:30 CET, 22:30Z Sunday 23:30.
    'weekly in the week clocks fall back',
    ['2026-10-25T23:30Z', '2026-10-25T22:30Z', '2026-10-20T12:00Z'],
    { keepPoints: 1, gfs: { weekly: 2 } },
    '2026-10-28T12:00Z',
    'Europe/Berlin',
    { '2026-10-25T23:30Z': ['latest', 'last', 'weekly'], '2026-10-25T22:30Z': ['weekly'] },
    ['2026-10-20T12:00Z'],
  ],
  [
    // Berlin springs forward on Sun 2026-03-29: 22:00Z is Monday 00:00 CEST, 21:59Z Sunday 23:59.
    'weekly in the week clocks spring forward',
    ['2026-03-29T22:00Z', '2026-03-29T21:59Z', '2026-03-23T00:00Z'],
    { keepPoints: 1, gfs: { weekly: 2 } },
    '2026-04-01T12:00Z',
    'Europe/Berlin',
    { '2026-03-29T22:00Z': ['latest', 'last', 'weekly'], '2026-03-29T21:59Z': ['weekly'] },
    ['2026-03-23T00:00Z'],
  ],
];

describe('selectPointsToDelete', () => {
  it.each([...table, ...zoneTable])('%s', (_name, times, input, now, tz, keep, remove) => {
    const result = selectPointsToDelete(points(...times), policy(input), new Date(now), tz);
    expect(Object.fromEntries(result.keep)).toEqual(keep);
    expect(result.delete).toEqual(remove);
    expect([...result.keep.keys(), ...result.delete].sort()).toEqual([...times].sort());
  });

  it('lists kept points newest first and deleted ones oldest first', () => {
    const result = selectPointsToDelete(
      points('2026-11-20T00:00Z', '2026-11-22T00:00Z', '2026-11-18T00:00Z', '2026-11-21T00:00Z', '2026-11-19T00:00Z'),
      policy({ keepPoints: 2 }),
      new Date('2026-11-23T00:00Z'),
      'UTC',
    );
    expect([...result.keep.keys()]).toEqual(['2026-11-22T00:00Z', '2026-11-21T00:00Z']);
    expect(result.delete).toEqual(['2026-11-18T00:00Z', '2026-11-19T00:00Z', '2026-11-20T00:00Z']);
  });

  it('breaks ties between equal times by id, whatever the input order', () => {
    const t = new Date('2026-11-22T10:00Z');
    const same: RetentionPoint[] = [
      { id: 'c', time: t },
      { id: 'a', time: t },
      { id: 'b', time: t },
    ];
    for (const input of [same, [...same].reverse()]) {
      const result = selectPointsToDelete(input, policy({ keepPoints: 1, gfs: { weekly: 1 } }), new Date('2026-11-23T00:00Z'), 'UTC');
      expect(Object.fromEntries(result.keep)).toEqual({ a: ['latest', 'last', 'weekly'] });
      expect(result.delete).toEqual(['c', 'b']);
    }
  });

  const bad: [string, RetentionPoint[], PolicyInput, string, string, string][] = [
    ['an unknown time zone', points('2026-11-22T10:00Z'), { keepPoints: 1 }, '2026-11-22T12:00Z', 'Mars/Olympus', 'RETENTION_TIME_ZONE'],
    ['an invalid current time', points('2026-11-22T10:00Z'), { keepPoints: 1 }, 'not a date', 'UTC', 'RETENTION_BAD_TIME'],
    ['a point with an invalid time', [{ id: 'x', time: new Date('nope') }], { keepPoints: 1 }, '2026-11-22T12:00Z', 'UTC', 'RETENTION_BAD_TIME'],
    [
      'an id listed twice',
      [...points('2026-11-22T10:00Z'), ...points('2026-11-22T10:00Z')],
      { keepPoints: 1 },
      '2026-11-22T12:00Z',
      'UTC',
      'RETENTION_DUPLICATE_ID',
    ],
  ];
  it.each(bad)('refuses %s with a clear error', (_name, input, p, now, tz, code) => {
    expect(() => selectPointsToDelete(input, policy(p), new Date(now), tz)).toThrow(expect.objectContaining({ code, name: 'RetentionError' }));
  });

  it('refuses a policy that skipped the schema and keeps nothing', () => {
    const unchecked = { gfs: { weekly: 1, monthly: 0, yearly: 0 } };
    expect(() => selectPointsToDelete(points('2026-11-22T10:00Z'), unchecked, new Date('2026-11-22T12:00Z'), 'UTC')).toThrow(RetentionError);
  });
});
