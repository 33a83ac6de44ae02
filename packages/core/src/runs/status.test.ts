import { describe, expect, it } from 'vitest';
import { isFinal, rollUp, RUN_STATUSES, type RunStatus } from './status.js';

describe('rollUp', () => {
  const table: [RunStatus[], number, RunStatus][] = [
    [['success', 'success'], 0, 'success'],
    [['success', 'warning'], 0, 'warning'],
    [['success', 'failed', 'warning'], 0, 'failed'],
    [['success', 'running'], 0, 'running'],
    [['pending', 'success'], 0, 'pending'],
    [['success', 'interrupted'], 0, 'interrupted'],
    [['cancelled', 'success'], 0, 'cancelled'],
    [['success'], 1, 'warning'],
    [[], 0, 'failed'],
  ];
  it.each(table)('%j with %i session warnings → %s', (tasks, warnings, expected) => {
    expect(rollUp(tasks, warnings)).toBe(expected);
  });
});

describe('isFinal', () => {
  it.each(RUN_STATUSES.map((s) => [s, !['pending', 'running'].includes(s)] as const))('%s is final: %s', (status, final) => {
    expect(isFinal(status)).toBe(final);
  });
});
