import { describe, expect, it } from 'vitest';
import { planRun, type InventoryVm } from './plan-run.js';

const vm = (id: string, name: string, over: Partial<InventoryVm> = {}): InventoryVm => ({
  id,
  name,
  hostId: 'h1',
  removed: false,
  disks: [{ name: 'vda', sizeBytes: 100 }],
  ...over,
});

const inventory = [
  vm('1', 'web-01'),
  vm('2', 'web-02', {
    disks: [
      { name: 'vda', sizeBytes: 1 },
      { name: 'vdb', sizeBytes: 2 },
    ],
  }),
  vm('3', 'db-01', { hostId: 'h2' }),
  vm('4', 'web-old', { removed: true }),
  vm('5', 'empty', { disks: [] }),
];

describe('planRun', () => {
  it('makes one task per disk, in object order, each VM once', () => {
    const plan = planRun(
      [
        { type: 'vm', vmId: '3' },
        { type: 'pattern', pattern: 'web-*' },
        { type: 'vm', vmId: '1' },
      ],
      inventory,
    );
    expect(plan.tasks.map((t) => `${t.vmName}/${t.diskName}`)).toEqual(['db-01/vda', 'web-01/vda', 'web-02/vda', 'web-02/vdb']);
    expect(plan.warnings).toEqual([]);
  });

  it('resolves a host to its live VMs', () => {
    const plan = planRun([{ type: 'host', hostId: 'h1' }], inventory);
    expect(plan.tasks.map((t) => t.vmName)).toEqual(['web-01', 'web-02', 'web-02']);
    expect(plan.warnings).toEqual(['VM empty has no disks to back up']);
  });

  it('warns about what resolves to nothing or cannot be backed up', () => {
    const plan = planRun(
      [
        { type: 'vm', vmId: '4' },
        { type: 'vm', vmId: 'gone' },
        { type: 'pattern', pattern: 'mail-*' },
        { type: 'vm', vmId: '5' },
        { type: 'host', hostId: 'h9' },
      ],
      inventory,
    );
    expect(plan.tasks).toEqual([]);
    expect(plan.warnings).toEqual([
      'VM web-old is no longer on the hypervisor',
      'VM gone is no longer on the hypervisor',
      'no VM matches "mail-*"',
      'host h9 has no VMs',
      'VM empty has no disks to back up',
    ]);
  });

  it('narrows a retry or Quick backup to the given VMs', () => {
    const plan = planRun([{ type: 'pattern', pattern: '*' }], inventory, ['2']);
    expect(plan.tasks.map((t) => t.diskName)).toEqual(['vda', 'vdb']);
  });
});
