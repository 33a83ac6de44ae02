import { describe, expect, it } from 'vitest';
import { planRollback, restoreRequestSchema, splitBrowserPath } from './request.js';

describe('planRollback', () => {
  const latest = { id: 'p2', checkpoint: 'strongbox-2' };
  const table: [string, Parameters<typeof planRollback>[0], string][] = [
    [
      'the VM has the latest point’s checkpoint: quick',
      { requested: true, latestPoint: latest, vmCheckpoints: ['strongbox-1', 'strongbox-2'], sameGeometry: true },
      'quick',
    ],
    ['not asked for', { requested: false, latestPoint: latest, vmCheckpoints: ['strongbox-2'], sameGeometry: true }, 'full: quick rollback was not asked for'],
    [
      'no point to compare with',
      { requested: true, latestPoint: null, vmCheckpoints: ['strongbox-2'], sameGeometry: true },
      'full: the VM has no restore point to compare with',
    ],
    [
      'a point without checkpoint',
      { requested: true, latestPoint: { id: 'p2', checkpoint: null }, vmCheckpoints: [], sameGeometry: true },
      'full: the latest restore point carries no checkpoint',
    ],
    [
      'the checkpoint is gone from the VM',
      { requested: true, latestPoint: latest, vmCheckpoints: ['strongbox-1'], sameGeometry: true },
      'full: the VM no longer has checkpoint strongbox-2 of its latest restore point',
    ],
    [
      'a disk grew',
      { requested: true, latestPoint: latest, vmCheckpoints: ['strongbox-2'], sameGeometry: false },
      'full: the disks changed size or block size since the chosen point',
    ],
  ];
  it.each(table)('%s', (_name, input, expected) => {
    const plan = planRollback(input);
    expect(plan.mode === 'quick' ? 'quick' : `full: ${plan.why}`).toBe(expected);
  });
});

describe('restoreRequestSchema', () => {
  const point = '6f1e7c1e-0a4b-4c59-9d0c-2b1b2a4f6e01';
  it('takes names of pools, never paths, and fills the defaults', () => {
    expect(restoreRequestSchema.safeParse({ kind: 'vm-new', pointId: point, name: 'a', connectionId: point, pool: '/etc' }).success).toBe(false);
    expect(restoreRequestSchema.parse({ kind: 'vm-new', pointId: point, name: 'a', connectionId: point, pool: 'default' })).toMatchObject({
      format: 'qcow2',
      networks: 'connected',
      powerOn: false,
    });
    expect(restoreRequestSchema.parse({ kind: 'instant', pointId: point, connectionId: point })).toMatchObject({ networks: 'disconnected' });
  });
  it('an in-place restore needs its confirmation', () => {
    const r = restoreRequestSchema.safeParse({ kind: 'vm-original', pointId: point, confirmOverwrite: false });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['confirmOverwrite']);
  });
});

describe('a guest file restore request', () => {
  const base = { kind: 'files', pointId: '00000000-0000-4000-8000-000000000001', mountId: '00000000-0000-4000-8000-000000000002', mode: 'overwrite' };
  it('takes browser paths and a mode', () => {
    expect(restoreRequestSchema.parse({ ...base, paths: ['/sda1/etc/app.conf', '/vg0-data/x y'] })).toMatchObject({ kind: 'files', mode: 'overwrite' });
  });
  it.each([
    [{ paths: [] }, 'paths', 'choose at least one file or folder'],
    [{ paths: ['etc/app.conf'] }, 'paths.0', 'starting with /'],
    [{ paths: ['/sda1/../../etc'] }, 'paths.0', 'without empty, . or .. segments'],
    [{ paths: ['/sda1//etc'] }, 'paths.0', 'without empty, . or .. segments'],
    [{ paths: ['/sda1/a'], mode: 'merge' }, 'mode', 'overwrite or keep-both'],
  ])('refuses %o, naming the field', (change, field, message) => {
    const r = restoreRequestSchema.safeParse({ ...base, ...change });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path.join('.')).toBe(field);
    expect(r.error!.issues[0]!.message).toContain(message);
  });
});

describe('a file browser path as its parts', () => {
  it.each([
    ['/sda1/etc/app.conf', 'sda1', '/etc/app.conf'],
    ['/vg0-data', 'vg0-data', '/'],
    ['/', '', '/'],
  ])('%s → %s and %s', (path, key, inner) => {
    expect(splitBrowserPath(path)).toEqual({ key, inner });
  });
});
