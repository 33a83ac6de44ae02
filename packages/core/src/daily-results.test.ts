import { describe, expect, it } from 'vitest';
import { dailyResults } from './daily-results.js';

const at = (iso: string, status: string, bytesTransferred = 0) => ({ startedAt: new Date(iso), status, bytesTransferred });

describe('dailyResults', () => {
  it('has one row per day, oldest first, today last, empty days included', () => {
    const rows = dailyResults([], new Date('2031-03-02T10:00:00Z'), 3);
    expect(rows.map((r) => r.day)).toEqual(['2031-02-28', '2031-03-01', '2031-03-02']);
    expect(rows.every((r) => r.success + r.warning + r.failed + r.running === 0)).toBe(true);
  });

  it('counts results per day and sums what was transferred; stopped and interrupted are failures', () => {
    const rows = dailyResults(
      [
        at('2031-03-01T01:00:00Z', 'success', 100),
        at('2031-03-01T23:00:00Z', 'warning', 50),
        at('2031-03-02T02:00:00Z', 'cancelled'),
        at('2031-03-02T03:00:00Z', 'interrupted'),
        at('2031-03-02T04:00:00Z', 'failed', 7),
        at('2031-03-02T05:00:00Z', 'running', 3),
        at('2031-03-02T06:00:00Z', 'pending'),
        at('2031-02-01T06:00:00Z', 'success', 999), // before the window
      ],
      new Date('2031-03-02T10:00:00Z'),
      2,
    );
    expect(rows).toEqual([
      { day: '2031-03-01', success: 1, warning: 1, failed: 0, running: 0, bytesTransferred: 150 },
      { day: '2031-03-02', success: 0, warning: 0, failed: 3, running: 2, bytesTransferred: 10 },
    ]);
  });

  it('reads days in the given time zone', () => {
    // 23:30 UTC on the 1st is already the 2nd in Paris.
    const rows = dailyResults([at('2031-03-01T23:30:00Z', 'success')], new Date('2031-03-02T10:00:00Z'), 2, 'Europe/Paris');
    expect(rows.map((r) => [r.day, r.success])).toEqual([
      ['2031-03-01', 0],
      ['2031-03-02', 1],
    ]);
  });
});
