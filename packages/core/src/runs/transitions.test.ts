import { describe, expect, it } from 'vitest';
import { RUN_STATUSES, type RunStatus } from './status.js';
import { canSession, canTask, openingStatus, sessionRules, taskRules, TASK_TRANSITIONS, type TaskEvent } from './transitions.js';

const now = new Date('2026-12-02T10:00:00Z');

// Written out by hand, row by row, so that a change to the rules has to change this too.
// Columns: pending running success warning failed cancelled interrupted.
const TASK_MATRIX: Record<TaskEvent, string> = {
  claim: /*      */ 'x......',
  progress: /*   */ '.x.....',
  finish: /*     */ '.x.....',
  fail: /*       */ '.x.....',
  requeue: /*    */ '.x..x..',
  interrupt: /*  */ '.x.....',
  cancel: /*     */ 'x......',
  refuse: /*     */ 'x......',
};

describe('task transitions: which statuses each event may leave', () => {
  const cells = (Object.keys(TASK_MATRIX) as TaskEvent[]).flatMap((event) =>
    RUN_STATUSES.map((status, i) => [event, status, TASK_MATRIX[event][i] === 'x'] as [TaskEvent, RunStatus, boolean]),
  );
  it.each(cells)('%s from %s: %s', (event, status, allowed) => {
    expect(canTask(event, status)).toBe(allowed);
  });

  it('covers every event', () => {
    expect(Object.keys(TASK_MATRIX).sort()).toEqual(Object.keys(TASK_TRANSITIONS).sort());
  });

  it('no event leaves a final status except a retry of a failed unit', () => {
    for (const [event, rule] of Object.entries(TASK_TRANSITIONS)) {
      const finals = (rule.from as readonly RunStatus[]).filter((s) => !['pending', 'running'].includes(s));
      expect([event, finals]).toEqual([event, event === 'requeue' ? ['failed'] : []]);
    }
  });
});

describe('task rules: the guard and what each writes', () => {
  const unit = { attempt: 2, excludedMoverIds: ['dead-1'] };
  const claim = { attempt: 2, moverId: 'm1' };

  it('claim: a waiting unit of that attempt gets the mover, a start, and loses its last error', () => {
    expect(taskRules.claim(unit, 'm1', now)).toEqual({
      event: 'claim',
      guard: { status: ['pending'], attempt: 2 },
      data: { status: 'running', moverId: 'm1', startedAt: now, endedAt: null, error: null },
    });
  });

  it('every change made by a mover is guarded by its attempt and by itself', () => {
    const changes = [
      taskRules.startDisk(claim, 'changed', now),
      taskRules.figures(
        claim,
        {
          bytesRead: 1,
          bytesProcessed: 1,
          bytesTransferred: 1,
          bytesWritten: 1,
          progress: { totalBytes: 2, rate: 1, etaSeconds: 1, busy: {}, bottleneck: 'source', throttledMs: 0 },
        },
        now,
      ),
      taskRules.finishDisk(claim, now),
      taskRules.finish(claim, { status: 'success' }),
      taskRules.fail(claim, { cancelled: false, reason: 'x' }, now),
    ];
    for (const c of changes) expect(c.guard).toMatchObject({ status: ['running'], attempt: 2, moverId: 'm1' });
  });

  it('finish keeps the disks\u2019 own ends; a unit without disks ends with its result', () => {
    expect(taskRules.finish(claim, { status: 'warning' }).data).toEqual({ status: 'warning' });
    expect(taskRules.finish(claim, { status: 'failed', endedAt: now, result: { chunksChecked: 3, bad: 1 } }).data).toEqual({
      status: 'failed',
      endedAt: now,
      result: { chunksChecked: 3, bad: 1 },
    });
  });

  it('fail: a stop the mover saw is cancelled, anything else failed, with the reason', () => {
    expect(taskRules.fail(claim, { cancelled: true, reason: 'stopped by a user' }, now).data).toEqual({
      status: 'cancelled',
      endedAt: now,
      error: 'stopped by a user',
    });
    expect(taskRules.fail(claim, { cancelled: false, reason: 'disk gone' }, now).data).toEqual({ status: 'failed', endedAt: now, error: 'disk gone' });
  });

  it('requeue: the next attempt, clean, not before its time, away from a mover that died', () => {
    const later = new Date(now.getTime() + 600_000);
    const c = taskRules.requeue(unit, { notBefore: later, excludeMover: 'dead-2' });
    expect(c.guard).toEqual({ status: ['running', 'failed'], attempt: 2 });
    expect(c.data).toEqual({
      status: 'pending',
      attempt: 3,
      notBefore: later,
      excludedMoverIds: ['dead-1', 'dead-2'],
      moverId: null,
      startedAt: null,
      endedAt: null,
      readMode: null,
      progress: null,
      lastProgressAt: null,
      bytesRead: 0,
      bytesProcessed: 0,
      bytesTransferred: 0,
      bytesWritten: 0,
      result: null,
    });
    expect('error' in c.data).toBe(false);
  });

  it('requeue: a retry excludes no mover, and a mover is excluded once', () => {
    expect(taskRules.requeue(unit, { notBefore: now }).data.excludedMoverIds).toEqual(['dead-1']);
    expect(taskRules.requeue(unit, { notBefore: now, excludeMover: 'dead-1' }).data.excludedMoverIds).toEqual(['dead-1']);
  });

  it('interrupt, cancel and refuse end the unit of that attempt with why', () => {
    expect(taskRules.interrupt(unit, 'mover gone', now)).toEqual({
      event: 'interrupt',
      guard: { status: ['running'], attempt: 2 },
      data: { status: 'interrupted', endedAt: now, error: 'mover gone' },
    });
    expect(taskRules.cancel(unit, 'ann@example.test', now)).toEqual({
      event: 'cancel',
      guard: { status: ['pending'], attempt: 2 },
      data: { status: 'cancelled', endedAt: now, error: 'stopped by ann@example.test' },
    });
    expect(taskRules.refuse(unit, 'no mover', now)).toEqual({
      event: 'refuse',
      guard: { status: ['pending'], attempt: 2 },
      data: { status: 'failed', endedAt: now, error: 'no mover' },
    });
  });
});

describe('session transitions', () => {
  // Columns: pending running success warning failed cancelled interrupted.
  const MATRIX = { begin: 'x......', stop: 'xx.....', close: 'xx.....' } as const;
  const cells = (Object.keys(MATRIX) as (keyof typeof MATRIX)[]).flatMap((event) =>
    RUN_STATUSES.map((status, i) => [event, status, MATRIX[event][i] === 'x'] as const),
  );
  it.each(cells)('%s from %s: %s', (event, status, allowed) => {
    expect(canSession(event, status)).toBe(allowed);
  });

  it('begin runs, stop only raises the flag, close writes the result, its end and summary', () => {
    expect(sessionRules.begin().data).toEqual({ status: 'running' });
    expect(sessionRules.stop().data).toEqual({ stopRequested: true });
    expect(sessionRules.close('warning', { deleted: 1 }, now).data).toEqual({ status: 'warning', endedAt: now, summary: { deleted: 1 } });
  });

  it('a session with nothing to do fails at once; otherwise it waits for its units', () => {
    expect(openingStatus(0)).toEqual({ status: 'failed', ended: true });
    expect(openingStatus(3)).toEqual({ status: 'pending', ended: false });
  });
});
