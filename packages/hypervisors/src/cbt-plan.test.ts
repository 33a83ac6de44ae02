import { describe, expect, it } from 'vitest';
import { planCbt, type CbtFacts, type DiskFacts } from './cbt-plan.js';

const MiB = 1024 * 1024;
const bm = (name: string, over: Partial<{ recording: boolean; inconsistent: boolean }> = {}) => ({ name, recording: true, inconsistent: false, ...over });
const disk = (target: string, bitmaps: DiskFacts['bitmaps'], over: Partial<DiskFacts> = {}): DiskFacts => ({
  target,
  path: `/img/${target}.qcow2`,
  format: 'qcow2',
  sizeBytes: 128 * MiB,
  bitmaps,
  ...over,
});
const cp = (name: string, targets = ['vda', 'vdb'], uuid = 'u-1') => ({
  name,
  vmUuid: uuid,
  disks: Object.fromEntries(targets.map((t) => [t, { bitmap: name, sizeBytes: 128 * MiB, path: `/img/${t}.qcow2` }])),
});
const facts = (over: Partial<CbtFacts>): CbtFacts => ({
  vmUuid: 'u-1',
  since: 'strongbox-2',
  checkpoints: [cp('strongbox-2')],
  disks: [disk('vda', [bm('strongbox-2')]), disk('vdb', [bm('strongbox-2')])],
  ...over,
});
const warnings = (f: CbtFacts) =>
  planCbt(f)
    .log.filter((l) => l.level === 'warning')
    .map((l) => l.code);

describe('planCbt', () => {
  it('trusts an intact chain: incremental from the base, nothing to repair', () => {
    const plan = planCbt(facts({}));
    expect(plan.base).toBe('strongbox-2');
    expect(plan.diskModes).toEqual({ vda: 'changed', vdb: 'changed' });
    expect(plan.repairs).toEqual([]);
    expect(warnings(facts({}))).toEqual([]);
  });

  it('an incremental supersedes its base: deleted once the new point is committed', () => {
    expect(planCbt(facts({})).supersedes).toEqual(['strongbox-2']);
  });

  it('an active full reads every disk whole but keeps the intact base until its point is committed', () => {
    const f = facts({ readWhole: true });
    const plan = planCbt(f);
    expect(plan.base).toBeNull();
    expect(plan.diskModes).toEqual({ vda: 'allocated', vdb: 'allocated' });
    expect(plan.repairs).toEqual([]);
    expect(plan.supersedes).toEqual(['strongbox-2']);
    expect(plan.log.map((l) => l.code)).toEqual(['CBT_ACTIVE_FULL']);
    expect(warnings(f)).toEqual([]);
  });

  it('a broken chain supersedes nothing: its checkpoints are repaired away before the read', () => {
    const plan = planCbt(facts({ readWhole: true, disks: [disk('vda', [bm('strongbox-2')]), disk('vdb', [])] }));
    expect(plan.supersedes).toEqual([]);
    expect(plan.repairs).toContainEqual({ kind: 'delete-checkpoint', name: 'strongbox-2', metadataOnly: true });
  });

  it('reads whole on the first backup, without a warning', () => {
    const f = facts({ since: null, checkpoints: [], disks: [disk('vda', []), disk('vdb', [])] });
    expect(planCbt(f).base).toBeNull();
    expect(planCbt(f).diskModes).toEqual({ vda: 'allocated', vdb: 'allocated' });
    expect(warnings(f)).toEqual([]);
  });

  it('drops older checkpoints of ours once the base is intact', () => {
    const f = facts({
      checkpoints: [cp('strongbox-1'), cp('strongbox-2')],
      disks: [disk('vda', [bm('strongbox-1'), bm('strongbox-2')]), disk('vdb', [bm('strongbox-1'), bm('strongbox-2')])],
    });
    const plan = planCbt(f);
    expect(plan.base).toBe('strongbox-2');
    expect(plan.repairs).toEqual([{ kind: 'delete-checkpoint', name: 'strongbox-1', metadataOnly: false }]);
  });

  const drift: [string, Partial<CbtFacts>, string[]][] = [
    ['checkpoint metadata deleted, bitmap left in the image', { checkpoints: [] }, ['CBT_DRIFT', 'CBT_STALE_BITMAP', 'CBT_STALE_BITMAP']],
    ['bitmap deleted from one image', { disks: [disk('vda', [bm('strongbox-2')]), disk('vdb', [])] }, ['CBT_DRIFT']],
    ['bitmap inconsistent', { disks: [disk('vda', [bm('strongbox-2', { inconsistent: true })]), disk('vdb', [bm('strongbox-2')])] }, ['CBT_DRIFT']],
    ['bitmap disabled', { disks: [disk('vda', [bm('strongbox-2', { recording: false })]), disk('vdb', [bm('strongbox-2')])] }, ['CBT_DRIFT']],
    ['disk added', { disks: [disk('vda', [bm('strongbox-2')]), disk('vdb', [bm('strongbox-2')]), disk('vdc', [])] }, ['CBT_DRIFT']],
    ['disk resized', { disks: [disk('vda', [bm('strongbox-2')], { sizeBytes: 256 * MiB }), disk('vdb', [bm('strongbox-2')])] }, ['CBT_DRIFT']],
    ['disk replaced', { disks: [disk('vda', [bm('strongbox-2')], { path: '/elsewhere/vda.qcow2' }), disk('vdb', [bm('strongbox-2')])] }, ['CBT_DRIFT']],
    ['VM restored from elsewhere (new uuid)', { vmUuid: 'u-2' }, ['CBT_DRIFT']],
    ['bitmaps cannot be listed', { disks: [disk('vda', null), disk('vdb', [bm('strongbox-2')])] }, ['CBT_DRIFT']],
  ];
  it.each(drift)('%s: warns and reads every disk whole', (_, over, codes) => {
    const f = facts(over);
    const plan = planCbt(f);
    expect(plan.base).toBeNull();
    expect(Object.values(plan.diskModes).every((m) => m === 'allocated')).toBe(true);
    expect(warnings(f)).toEqual(codes);
  });

  it('repairs drift: metadata whose bitmaps are gone is dropped as metadata, orphan bitmaps are removed', () => {
    const onlyMeta = planCbt(facts({ disks: [disk('vda', [bm('strongbox-2')]), disk('vdb', [])] }));
    expect(onlyMeta.repairs).toEqual([
      { kind: 'delete-checkpoint', name: 'strongbox-2', metadataOnly: true },
      { kind: 'remove-bitmap', target: 'vda', path: '/img/vda.qcow2', bitmap: 'strongbox-2' },
    ]);
    const orphan = planCbt(facts({ checkpoints: [] }));
    expect(orphan.repairs.map((r) => r.kind)).toEqual(['remove-bitmap', 'remove-bitmap']);
  });

  it('removes an extra bitmap of ours that no checkpoint owns, and keeps bitmaps not ours', () => {
    const f = facts({ disks: [disk('vda', [bm('strongbox-2'), bm('strongbox-x'), bm('someone-else')]), disk('vdb', [bm('strongbox-2')])] });
    const plan = planCbt(f);
    expect(plan.base).toBe('strongbox-2');
    expect(plan.repairs).toEqual([{ kind: 'remove-bitmap', target: 'vda', path: '/img/vda.qcow2', bitmap: 'strongbox-x' }]);
    expect(warnings(f)).toEqual(['CBT_STALE_BITMAP']);
  });

  it('reads a raw disk whole every time, with a warning, while the qcow2 disk stays incremental', () => {
    const f = facts({
      checkpoints: [cp('strongbox-2', ['vda'])],
      disks: [disk('vda', [bm('strongbox-2')]), disk('vdb', null, { format: 'raw', path: '/img/vdb.raw' })],
    });
    const plan = planCbt(f);
    expect(plan.base).toBe('strongbox-2');
    expect(plan.diskModes).toEqual({ vda: 'changed', vdb: 'allocated' });
    expect(plan.checkpointDisks).toEqual(['vda']);
    expect(warnings(f)).toEqual(['CBT_UNSUPPORTED_FORMAT']);
  });
});
