import { describe, expect, it } from 'vitest';
import { chooseMover, grantUnits, type GrantInput, type MoverSlotState, type WaitingUnit } from './grant-units.js';

const mover = (id: string, over: Partial<MoverSlotState> = {}): MoverSlotState => ({
  id,
  hostName: `${id}-host`,
  site: 'hq',
  online: true,
  enabled: true,
  maxConcurrentTasks: 2,
  running: 0,
  repositoryIds: [],
  ...over,
});
const task = (id: string, over: Partial<WaitingUnit> = {}): WaitingUnit => ({
  id,
  sessionId: 's1',
  repositoryId: 'r1',
  kind: 'vm',
  vmHostName: 'kvm1',
  vmSite: 'hq',
  ...over,
});

describe('chooseMover', () => {
  const table: [string, MoverSlotState[], WaitingUnit, string | null, string | null][] = [
    ['same host wins over same site', [mover('a'), mover('b', { hostName: 'kvm1' })], task('t'), 'b', 'host'],
    ['same site wins over another site', [mover('a', { site: 'dr' }), mover('b')], task('t'), 'b', 'site'],
    ['any site when none is near', [mover('a', { site: 'dr' })], task('t'), 'a', 'any'],
    ['a full host mover yields to the site', [mover('a', { hostName: 'kvm1', running: 2 }), mover('b')], task('t'), 'b', 'site'],
    ['offline movers are skipped', [mover('a', { hostName: 'kvm1', online: false })], task('t'), null, null],
    ['disabled movers are skipped', [mover('a', { enabled: false })], task('t'), null, null],
    ['least busy within a tier', [mover('a', { running: 1 }), mover('b', { running: 0 })], task('t'), 'b', 'site'],
    ['ties broken by id', [mover('b'), mover('a')], task('t'), 'a', 'site'],
    ['an excluded mover is not used again', [mover('a', { hostName: 'kvm1' }), mover('b')], task('t', { excludeMovers: ['a'] }), 'b', 'site'],
    [
      '… even while the other is full: the unit waits for it',
      [mover('a', { hostName: 'kvm1' }), mover('b', { running: 2 })],
      task('t', { excludeMovers: ['a'] }),
      null,
      null,
    ],
    [
      '… unless it is the only enabled mover there is',
      [mover('a', { hostName: 'kvm1' }), mover('b', { enabled: false })],
      task('t', { excludeMovers: ['a'] }),
      'a',
      'host',
    ],
    ['a VM with no known host goes by site', [mover('a', { hostName: 'kvm1', site: 'dr' }), mover('b')], task('t', { vmHostName: null }), 'b', 'site'],
  ];
  it.each(table)('%s', (_name, movers, t, moverId, tier) => {
    const grant = chooseMover(t, movers);
    expect(grant?.moverId ?? null).toBe(moverId);
    expect(grant?.tier ?? null).toBe(tier);
  });
});

describe('grantUnits', () => {
  const waiting = ['t1', 't2', 't3', 't4'].map((id) => task(id));

  it('never exceeds a repository limit (mover 2, repository 1 → one at a time)', () => {
    const { grants } = grantUnits({
      waiting,
      movers: [mover('a', { maxConcurrentTasks: 2 })],
      repositories: [{ id: 'r1', maxConcurrentTasks: 1, running: 0, maintaining: false }],
      mode: 'parallel',
      sessionsRunning: new Set(),
    });
    expect(grants.map((g) => g.unitId)).toEqual(['t1']);
  });

  it('never exceeds a mover limit, and counts what already runs', () => {
    const { grants } = grantUnits({
      waiting,
      movers: [mover('a', { maxConcurrentTasks: 3, running: 1 })],
      repositories: [{ id: 'r1', maxConcurrentTasks: 10, running: 0, maintaining: false }],
      mode: 'parallel',
      sessionsRunning: new Set(),
    });
    expect(grants.map((g) => g.unitId)).toEqual(['t1', 't2']);
  });

  it('spreads over movers in placement order', () => {
    const { grants } = grantUnits({
      waiting,
      movers: [mover('near', { hostName: 'kvm1', maxConcurrentTasks: 1 }), mover('far', { site: 'dr', maxConcurrentTasks: 1 })],
      repositories: [{ id: 'r1', maxConcurrentTasks: 10, running: 0, maintaining: false }],
      mode: 'parallel',
      sessionsRunning: new Set(),
    });
    expect(grants).toEqual([
      { unitId: 't1', moverId: 'near', tier: 'host' },
      { unitId: 't2', moverId: 'far', tier: 'any' },
    ]);
  });

  it('runs one task per session at a time in sequential mode', () => {
    const input = {
      waiting: [task('a1', { sessionId: 'A' }), task('a2', { sessionId: 'A' }), task('b1', { sessionId: 'B' })],
      movers: [mover('m', { maxConcurrentTasks: 8 })],
      repositories: [{ id: 'r1', maxConcurrentTasks: 8, running: 0, maintaining: false }],
      sessionsRunning: new Set<string>(),
    };
    expect(grantUnits({ ...input, mode: 'sequential' }).grants.map((g) => g.unitId)).toEqual(['a1', 'b1']);
    expect(grantUnits({ ...input, mode: 'sequential', sessionsRunning: new Set(['A']) }).grants.map((g) => g.unitId)).toEqual(['b1']);
    expect(grantUnits({ ...input, mode: 'parallel' }).grants.map((g) => g.unitId)).toEqual(['a1', 'a2', 'b1']);
  });

  it('lets a task of another repository pass one whose repository is full', () => {
    const { grants } = grantUnits({
      waiting: [task('x', { repositoryId: 'full' }), task('y', { repositoryId: 'free' })],
      movers: [mover('m')],
      repositories: [
        { id: 'full', maxConcurrentTasks: 1, running: 1, maintaining: false },
        { id: 'free', maxConcurrentTasks: 1, running: 0, maintaining: false },
      ],
      mode: 'parallel',
      sessionsRunning: new Set(),
    });
    expect(grants.map((g) => g.unitId)).toEqual(['y']);
  });

  it('grants nothing for an unknown repository', () => {
    expect(
      grantUnits({ waiting: [task('t', { repositoryId: 'gone' })], movers: [mover('m')], repositories: [], mode: 'parallel', sessionsRunning: new Set() }),
    ).toEqual({ grants: [], refusals: [], waits: [] });
  });
});

describe('grantUnits: maintenance', () => {
  const repo = (over: Partial<GrantInput['repositories'][number]> = {}) => ({ id: 'r1', maxConcurrentTasks: 1, running: 1, maintaining: false, ...over });
  const op = (id: string, over: Partial<WaitingUnit> = {}) => task(id, { kind: 'maintenance', vmHostName: null, vmSite: null, ...over });
  const base = { mode: 'parallel' as const, sessionsRunning: new Set<string>() };

  const table: [string, Omit<GrantInput, 'mode' | 'sessionsRunning'>, { grants: string[]; refusals: string[] }][] = [
    [
      'goes to a mover that sees the store, even with every slot taken',
      { waiting: [op('m1')], movers: [mover('a', { running: 2, repositoryIds: ['r1'] })], repositories: [repo()] },
      { grants: ['m1@a'], refusals: [] },
    ],
    [
      'never to a mover that does not see the store',
      { waiting: [op('m1')], movers: [mover('a'), mover('b', { repositoryIds: ['r1'] })], repositories: [repo()] },
      { grants: ['m1@b'], refusals: [] },
    ],
    [
      'is refused when no enabled mover sees the store',
      { waiting: [op('m1')], movers: [mover('a'), mover('b', { enabled: false, repositoryIds: ['r1'] })], repositories: [repo()] },
      { grants: [], refusals: ['m1'] },
    ],
    [
      'waits while the movers that see the store are offline',
      { waiting: [op('m1')], movers: [mover('a', { online: false, repositoryIds: ['r1'] })], repositories: [repo()] },
      { grants: [], refusals: [] },
    ],
    [
      'one at a time per repository',
      { waiting: [op('m1'), op('m2', { sessionId: 's2' })], movers: [mover('a', { repositoryIds: ['r1'] })], repositories: [repo()] },
      { grants: ['m1@a'], refusals: [] },
    ],
    [
      'waits while another runs on the repository',
      { waiting: [op('m1')], movers: [mover('a', { repositoryIds: ['r1'] })], repositories: [repo({ maintaining: true })] },
      { grants: [], refusals: [] },
    ],
    [
      'takes no slot from the VMs behind it',
      {
        waiting: [op('m1'), task('v1', { sessionId: 's2' })],
        movers: [mover('a', { maxConcurrentTasks: 1, repositoryIds: ['r1'] })],
        repositories: [repo({ running: 0 })],
      },
      { grants: ['m1@a', 'v1@a'], refusals: [] },
    ],
  ];
  it.each(table)('%s', (_name, input, expected) => {
    const { grants, refusals } = grantUnits({ ...base, ...input });
    expect(grants.map((g) => `${g.unitId}@${g.moverId}`)).toEqual(expected.grants);
    expect(refusals.map((r) => r.unitId)).toEqual(expected.refusals);
  });
});

describe('one run at a time per VM', () => {
  const base: GrantInput = {
    waiting: [],
    movers: [mover('a', { maxConcurrentTasks: 4 })],
    repositories: [{ id: 'r1', maxConcurrentTasks: 4, running: 0, maintaining: false }],
    mode: 'parallel',
    sessionsRunning: new Set(),
  };
  const table: [string, Partial<GrantInput>, { grants: string[]; waits: string[] }][] = [
    [
      'a restore of a VM whose backup runs waits, and says why',
      { waiting: [task('r', { kind: 'restore', busyVmId: 'vm1' })], vmsBusy: new Map([['vm1', 'a backup']]) },
      { grants: [], waits: ['r: waits: a backup of this VM is running (one VM is backed up or restored by one run at a time)'] },
    ],
    [
      'a backup of a VM being restored waits',
      { waiting: [task('b', { busyVmId: 'vm1' })], vmsBusy: new Map([['vm1', 'a restore']]) },
      { grants: [], waits: ['b: waits: a restore of this VM is running (one VM is backed up or restored by one run at a time)'] },
    ],
    [
      'of a restore and a backup of one VM waiting in one round, the first goes',
      { waiting: [task('r', { kind: 'restore', sessionId: 's1', busyVmId: 'vm1' }), task('b', { sessionId: 's2', busyVmId: 'vm1' })] },
      { grants: ['r'], waits: ['b: waits: a restore of this VM is running (one VM is backed up or restored by one run at a time)'] },
    ],
    [
      'a restore as a new VM holds no VM',
      { waiting: [task('r', { kind: 'restore', busyVmId: null })], vmsBusy: new Map([['vm1', 'a backup']]) },
      { grants: ['r'], waits: [] },
    ],
    [
      'a restore takes a repository slot like a VM',
      { waiting: [task('r', { kind: 'restore' })], repositories: [{ id: 'r1', maxConcurrentTasks: 1, running: 1, maintaining: false }] },
      { grants: [], waits: [] },
    ],
    [
      'sequential mode does not hold a restore behind its own session',
      { waiting: [task('r', { kind: 'restore' })], mode: 'sequential', sessionsRunning: new Set(['s1']) },
      { grants: ['r'], waits: [] },
    ],
  ];
  it.each(table)('%s', (_name, input, expected) => {
    const { grants, waits } = grantUnits({ ...base, ...input });
    expect(grants.map((g) => g.unitId)).toEqual(expected.grants);
    expect(waits.map((w) => `${w.unitId}: ${w.reason}`)).toEqual(expected.waits);
  });
});
