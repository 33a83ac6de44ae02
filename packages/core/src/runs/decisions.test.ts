import { describe, expect, it } from 'vitest';
import { activeFullToday, type ActiveFullRule } from './active-full.js';
import { decideClose, isStalled, onMoverLost, rateShare, type ClosingTask } from './decisions.js';
import type { RunStatus } from './status.js';

const now = new Date('2026-12-02T10:00:00Z');
const startedAt = new Date('2026-12-02T09:58:00Z');

describe('onMoverLost', () => {
  const ctx = {
    retries: { count: 2, waitMinutes: 10 },
    stopRequested: false,
    moverId: 'm-dead',
    how: 'silent' as const,
    reason: 'mover A stopped answering',
    now,
  };
  const table: [string, number, boolean, 'requeue' | 'interrupt'][] = [
    ['first attempt, retries left → waits for another mover', 1, false, 'requeue'],
    ['last allowed attempt → waits once more', 2, false, 'requeue'],
    ['retries spent → interrupted', 3, false, 'interrupt'],
    ['stop asked → interrupted, not retried', 1, true, 'interrupt'],
  ];
  it.each(table)('%s', (_name, attempt, stopRequested, event) => {
    const change = onMoverLost({ attempt, excludedMoverIds: [] }, { ...ctx, stopRequested });
    expect(change.event).toBe(event);
    expect(change.guard).toMatchObject({ status: ['running'].concat(event === 'requeue' ? ['failed'] : []), attempt });
    if (event === 'requeue') {
      // At once (not after the job's wait: the VM did not fail), never on the dead mover.
      expect(change.data).toMatchObject({ attempt: attempt + 1, notBefore: now, excludedMoverIds: ['m-dead'] });
    } else {
      expect(change.data).toEqual({ status: 'interrupted', endedAt: now, error: 'mover A stopped answering' });
    }
  });
});

const task = (unit: string, status: RunStatus, over: Partial<ClosingTask> = {}): ClosingTask => ({
  unit,
  status,
  attempt: 1,
  excludedMoverIds: [],
  bytesRead: 100,
  bytesTransferred: 10,
  result: null,
  ...over,
});
const session = (tasks: ClosingTask[], over: Partial<Parameters<typeof decideClose>[0]> = {}) =>
  decideClose({ kind: 'backup', stopRequested: false, warnings: 0, startedAt, tasks, retries: { count: 1, waitMinutes: 5 }, now, ...over });

describe('onMoverLost after a restart', () => {
  it('waits again without avoiding the mover that restarted (it may be the only one)', () => {
    const change = onMoverLost(
      { attempt: 1, excludedMoverIds: [] },
      { retries: { count: 1, waitMinutes: 10 }, stopRequested: false, moverId: 'm-1', how: 'restarted', reason: 'mover m restarted', now },
    );
    expect(change).toMatchObject({ event: 'requeue', data: { attempt: 2, excludedMoverIds: [] } });
  });
});

describe('decideClose', () => {
  it('waits while any task is not final', () => {
    expect(session([task('a', 'success'), task('b', 'running')])).toEqual({ kind: 'wait' });
    expect(session([task('a', 'pending')])).toEqual({ kind: 'wait' });
  });

  it('retries the failed VMs with retries left, after the wait, and only those', () => {
    const d = session([task('a', 'success'), task('b', 'failed'), task('b', 'failed'), task('c', 'failed', { attempt: 2 })]);
    expect(d.kind).toBe('retry');
    if (d.kind !== 'retry') return;
    expect(d.notBefore).toEqual(new Date(now.getTime() + 5 * 60_000));
    expect(d.units.map((u) => u.unit)).toEqual(['b']);
    expect(d.units[0]!.change).toMatchObject({ event: 'requeue', guard: { attempt: 1 }, data: { attempt: 2, notBefore: d.notBefore } });
  });

  it('does not retry after a stop, nor interrupted or cancelled VMs', () => {
    expect(session([task('a', 'failed')], { stopRequested: true })).toMatchObject({ kind: 'close', status: 'failed' });
    expect(session([task('a', 'interrupted'), task('b', 'cancelled')])).toMatchObject({ kind: 'close', status: 'interrupted' });
  });

  it('closes with the rolled-up result and the backup summary', () => {
    expect(session([task('a', 'success'), task('a', 'success'), task('b', 'warning'), task('c', 'failed', { attempt: 2 })])).toEqual({
      kind: 'close',
      status: 'failed',
      summary: { vms: 3, success: 1, warning: 1, failed: 1, bytesRead: 400, bytesTransferred: 40, durationMs: 120_000 },
    });
  });

  it('a session\u2019s own warnings make a success a warning', () => {
    expect(session([task('a', 'success')], { warnings: 1 })).toMatchObject({ kind: 'close', status: 'warning' });
  });

  it('a backup with nothing to do has failed', () => {
    expect(session([])).toMatchObject({ kind: 'close', status: 'failed', summary: { vms: 0 } });
  });

  it('maintenance closes with its unit\u2019s result as the summary, never retried', () => {
    const verify = { chunksChecked: 12, bad: 1 };
    expect(session([task('verify', 'failed', { result: verify })], { kind: 'maintenance', retries: { count: 0, waitMinutes: 1 } })).toEqual({
      kind: 'close',
      status: 'failed',
      summary: verify,
    });
  });
});

describe('rateShare', () => {
  const table: [number | null, number, number | null][] = [
    [null, 3, null],
    [90, 3, 30],
    [90, 0, 90],
    [90, 1, 90],
  ];
  it.each(table)('limit %s over %i running units → %s each', (limit, units, share) => {
    expect(rateShare(limit, units)).toBe(share);
  });
});

describe('activeFullToday', () => {
  const table: [string, ActiveFullRule, string, string, boolean][] = [
    ['never', { kind: 'never' }, '2026-12-06T10:00:00Z', 'UTC', false],
    ['weekly on its weekday (Sunday)', { kind: 'weekly', weekday: 0 }, '2026-12-06T10:00:00Z', 'UTC', true],
    ['weekly on another day', { kind: 'weekly', weekday: 0 }, '2026-12-07T10:00:00Z', 'UTC', false],
    ['weekly in the job\u2019s zone: Saturday 23:30 UTC is Sunday in Paris', { kind: 'weekly', weekday: 0 }, '2026-12-05T23:30:00Z', 'Europe/Paris', true],
    ['monthly on its day', { kind: 'monthly', day: 15 }, '2026-12-15T10:00:00Z', 'UTC', true],
    ['monthly on the 31st falls on the 30th in a 30-day month', { kind: 'monthly', day: 31 }, '2026-11-30T10:00:00Z', 'UTC', true],
    ['monthly last day: 28 February', { kind: 'monthly', day: 'last' }, '2027-02-28T10:00:00Z', 'UTC', true],
    ['monthly last day: not the 27th', { kind: 'monthly', day: 'last' }, '2027-02-27T10:00:00Z', 'UTC', false],
  ];
  it.each(table)('%s', (_name, rule, at, zone, expected) => {
    expect(activeFullToday(rule, new Date(at), zone)).toBe(expected);
  });
});

describe('isStalled', () => {
  const table: [string, number, boolean][] = [
    ['a sign of life a second ago', 1_000, false],
    ['exactly at the limit', 600_000, false],
    ['past the limit', 600_001, true],
  ];
  it.each(table)('%s', (_name, ago, stalled) => {
    expect(isStalled(new Date(now.getTime() - ago), now)).toBe(stalled);
  });

  it('waits again without avoiding the mover, which still heartbeats', () => {
    const change = onMoverLost(
      { attempt: 1, excludedMoverIds: [] },
      { retries: { count: 1, waitMinutes: 10 }, stopRequested: false, moverId: 'm-1', how: 'stalled', reason: 'no sign of life', now },
    );
    expect(change).toMatchObject({ event: 'requeue', data: { excludedMoverIds: [] } });
  });
});
