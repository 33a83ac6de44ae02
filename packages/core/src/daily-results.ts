import { addDays, toLocal } from './zoned-time.js';

export type DayResult = { day: string; success: number; warning: number; failed: number; running: number; bytesTransferred: number };

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * Backup sessions per local day over the last `days` days (today included, oldest
 * first), counted by result, with the data they transferred: the Home page's chart.
 * Stopped and interrupted runs count as failed, pending ones as running.
 */
export function dailyResults(
  sessions: readonly { startedAt: Date; status: string; bytesTransferred: number }[],
  now: Date,
  days: number,
  timeZone = 'UTC',
): DayResult[] {
  const today = toLocal(now, timeZone);
  const out: DayResult[] = [];
  const index = new Map<string, DayResult>();
  for (let i = days - 1; i >= 0; i--) {
    const d = addDays(today, -i);
    const day = `${d.year}-${pad(d.month)}-${pad(d.day)}`;
    const row = { day, success: 0, warning: 0, failed: 0, running: 0, bytesTransferred: 0 };
    out.push(row);
    index.set(day, row);
  }
  for (const s of sessions) {
    const l = toLocal(s.startedAt, timeZone);
    const row = index.get(`${l.year}-${pad(l.month)}-${pad(l.day)}`);
    if (!row) continue;
    if (s.status === 'success') row.success++;
    else if (s.status === 'warning') row.warning++;
    else if (s.status === 'running' || s.status === 'pending') row.running++;
    else row.failed++;
    row.bytesTransferred += s.bytesTransferred;
  }
  return out;
}
