import { describe, expect, it } from 'vitest';
import type { RunTask } from '@strongbox/db';
import { toTaskDto } from './sessions-service';

const now = new Date('2026-12-02T10:00:00Z');
const task = (over: Partial<RunTask>): RunTask => ({
  id: 't',
  sessionId: 's',
  unit: 'vm',
  vmId: 'vm',
  diskName: 'vda',
  moverId: 'm',
  status: 'running',
  attempt: 1,
  bytesTotal: 100n,
  bytesRead: 40n,
  bytesProcessed: 40n,
  bytesTransferred: 10n,
  bytesWritten: 10n,
  readMode: 'changed',
  progress: { totalBytes: 80, rate: 4, etaSeconds: 10, busy: {}, bottleneck: 'source', throttledMs: 0 },
  lastProgressAt: new Date(now.getTime() - 75_000),
  result: null,
  error: null,
  startedAt: new Date(now.getTime() - 120_000),
  endedAt: null,
  notBefore: null,
  vm: { name: 'web-1' },
  mover: { name: 'mover-1' },
  ...over,
});

describe('toTaskDto', () => {
  it.each([
    ['a disk being read, figures 75 s old', {}, 75],
    ['a disk read to its end, waiting for the point', { endedAt: now }, null],
    ['a disk not begun (no figures yet)', { lastProgressAt: null }, null],
    ['a finished task', { status: 'success' as const }, null],
  ])('%s: silent for %s s', (_name, over, silent) => {
    expect(toTaskDto(task(over), now).silentSeconds).toBe(silent);
  });

  it('measures against the figures the mover sent: 40 of 80 bytes is 50%', () => {
    expect(toTaskDto(task({}), now)).toMatchObject({ percent: 50, bytesTotal: 80, rate: 4, etaSeconds: 10, unit: 'vm' });
    expect(toTaskDto(task({ status: 'success' }), now).percent).toBe(100);
  });
});
