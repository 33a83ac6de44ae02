import { describe, expect, it } from 'vitest';
import { chooseMover, grantTasks, type MoverSlotState, type WaitingTask } from './grant-tasks.js';

const mover = (id: string, over: Partial<MoverSlotState> = {}): MoverSlotState => ({
  id,
  hostName: `${id}-host`,
  site: 'hq',
  online: true,
  enabled: true,
  maxConcurrentTasks: 2,
  running: 0,
  ...over,
});
const task = (id: string, over: Partial<WaitingTask> = {}): WaitingTask => ({
  id,
  sessionId: 's1',
  repositoryId: 'r1',
  vmHostName: 'kvm1',
  vmSite: 'hq',
  ...over,
});

describe('chooseMover', () => {
  const table: [string, MoverSlotState[], WaitingTask, string | null, string | null][] = [
    ['same host wins over same site', [mover('a'), mover('b', { hostName: 'kvm1' })], task('t'), 'b', 'host'],
    ['same site wins over another site', [mover('a', { site: 'dr' }), mover('b')], task('t'), 'b', 'site'],
    ['any site when none is near', [mover('a', { site: 'dr' })], task('t'), 'a', 'any'],
    ['a full host mover yields to the site', [mover('a', { hostName: 'kvm1', running: 2 }), mover('b')], task('t'), 'b', 'site'],
    ['offline movers are skipped', [mover('a', { hostName: 'kvm1', online: false })], task('t'), null, null],
    ['disabled movers are skipped', [mover('a', { enabled: false })], task('t'), null, null],
    ['least busy within a tier', [mover('a', { running: 1 }), mover('b', { running: 0 })], task('t'), 'b', 'site'],
    ['ties broken by id', [mover('b'), mover('a')], task('t'), 'a', 'site'],
    ['an excluded mover is not used again', [mover('a', { hostName: 'kvm1' }), mover('b')], task('t', { excludeMovers: ['a'] }), 'b', 'site'],
    ['a VM with no known host goes by site', [mover('a', { hostName: 'kvm1', site: 'dr' }), mover('b')], task('t', { vmHostName: null }), 'b', 'site'],
  ];
  it.each(table)('%s', (_name, movers, t, moverId, tier) => {
    const grant = chooseMover(t, movers);
    expect(grant?.moverId ?? null).toBe(moverId);
    expect(grant?.tier ?? null).toBe(tier);
  });
});

describe('grantTasks', () => {
  const waiting = ['t1', 't2', 't3', 't4'].map((id) => task(id));

  it('never exceeds a repository limit (mover 2, repository 1 → one at a time)', () => {
    const grants = grantTasks({
      waiting,
      movers: [mover('a', { maxConcurrentTasks: 2 })],
      repositories: [{ id: 'r1', maxConcurrentTasks: 1, running: 0 }],
      mode: 'parallel',
      sessionsRunning: new Set(),
    });
    expect(grants.map((g) => g.taskId)).toEqual(['t1']);
  });

  it('never exceeds a mover limit, and counts what already runs', () => {
    const grants = grantTasks({
      waiting,
      movers: [mover('a', { maxConcurrentTasks: 3, running: 1 })],
      repositories: [{ id: 'r1', maxConcurrentTasks: 10, running: 0 }],
      mode: 'parallel',
      sessionsRunning: new Set(),
    });
    expect(grants.map((g) => g.taskId)).toEqual(['t1', 't2']);
  });

  it('spreads over movers in placement order', () => {
    const grants = grantTasks({
      waiting,
      movers: [mover('near', { hostName: 'kvm1', maxConcurrentTasks: 1 }), mover('far', { site: 'dr', maxConcurrentTasks: 1 })],
      repositories: [{ id: 'r1', maxConcurrentTasks: 10, running: 0 }],
      mode: 'parallel',
      sessionsRunning: new Set(),
    });
    expect(grants).toEqual([
      { taskId: 't1', moverId: 'near', tier: 'host' },
      { taskId: 't2', moverId: 'far', tier: 'any' },
    ]);
  });

  it('runs one task per session at a time in sequential mode', () => {
    const input = {
      waiting: [task('a1', { sessionId: 'A' }), task('a2', { sessionId: 'A' }), task('b1', { sessionId: 'B' })],
      movers: [mover('m', { maxConcurrentTasks: 8 })],
      repositories: [{ id: 'r1', maxConcurrentTasks: 8, running: 0 }],
      sessionsRunning: new Set<string>(),
    };
    expect(grantTasks({ ...input, mode: 'sequential' }).map((g) => g.taskId)).toEqual(['a1', 'b1']);
    expect(grantTasks({ ...input, mode: 'sequential', sessionsRunning: new Set(['A']) }).map((g) => g.taskId)).toEqual(['b1']);
    expect(grantTasks({ ...input, mode: 'parallel' }).map((g) => g.taskId)).toEqual(['a1', 'a2', 'b1']);
  });

  it('lets a task of another repository pass one whose repository is full', () => {
    const grants = grantTasks({
      waiting: [task('x', { repositoryId: 'full' }), task('y', { repositoryId: 'free' })],
      movers: [mover('m')],
      repositories: [
        { id: 'full', maxConcurrentTasks: 1, running: 1 },
        { id: 'free', maxConcurrentTasks: 1, running: 0 },
      ],
      mode: 'parallel',
      sessionsRunning: new Set(),
    });
    expect(grants.map((g) => g.taskId)).toEqual(['y']);
  });

  it('grants nothing for an unknown repository', () => {
    expect(
      grantTasks({ waiting: [task('t', { repositoryId: 'gone' })], movers: [mover('m')], repositories: [], mode: 'parallel', sessionsRunning: new Set() }),
    ).toEqual([]);
  });
});
