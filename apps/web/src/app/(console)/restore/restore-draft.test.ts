import { describe, expect, it } from 'vitest';
import { restoreRequestSchema } from '@strongbox/core';
import type { CatalogPointDto, CatalogVmDto } from '@/server/restore-schemas';
import type { RestoreChoices } from './restore-data';
import { emptyDraft, requestOf, stepOfField, targetComplete, TARGET_STEP, POINT_STEP, WHAT_STEP, withVm, withWhat, type Draft } from './restore-draft';

const connection = { id: '11111111-1111-4111-8111-111111111111', name: 'lab' };
const choices: RestoreChoices = {
  connections: [connection, { id: '22222222-2222-4222-8222-222222222222', name: 'other' }],
  hosts: [],
  vms: [{ id: '33333333-3333-4333-8333-333333333333', name: 'db-1', connectionId: connection.id, powerState: 'stopped', restoreFailure: null, disks: ['vda'] }],
};
const vm = (over: Partial<CatalogVmDto> = {}): CatalogVmDto => ({
  vmId: '44444444-4444-4444-8444-444444444444',
  name: 'web-1',
  inInventory: true,
  connection,
  points: 1,
  newestAt: '2026-12-01T10:00:00.000Z',
  ...over,
});
const point: CatalogPointDto = {
  id: '55555555-5555-4555-8555-555555555555',
  vmId: vm().vmId,
  vmName: 'web-1',
  time: '2026-12-01T10:00:00.000Z',
  kind: 'full',
  sizeBytes: 2048,
  storedBytes: 100,
  disks: [
    { name: 'vda', sizeBytes: 1024, storedBytes: 50 },
    { name: 'vdb', sizeBytes: 1024, storedBytes: 50 },
  ],
  repository: { id: '66666666-6666-4666-8666-666666666666', name: 'default' },
  jobName: 'nightly',
};
const chosen = (what: 'vm' | 'disks' | 'instant', over: Partial<Draft> = {}, v = vm()) => ({
  ...withWhat(withVm(emptyDraft(choices), v, [point], point), what),
  ...over,
});

describe('the restore wizard draft', () => {
  it.each<[string, Draft, Record<string, unknown>]>([
    [
      'a new VM beside the original, by default',
      chosen('vm', { pool: 'default' }),
      { kind: 'vm-new', name: 'web-1-restored', connectionId: connection.id, pool: 'default', format: 'qcow2', networks: 'connected', powerOn: false },
    ],
    [
      'the original VM, confirmed, quick rollback on',
      chosen('vm', { vmMode: 'original', confirm: true }),
      { kind: 'vm-original', confirmOverwrite: true, quickRollback: true },
    ],
    [
      'every disk of the point to a pool',
      chosen('disks', { pool: 'images' }),
      { kind: 'disks', disks: ['vda', 'vdb'], to: { mode: 'pool', connectionId: connection.id, pool: 'images' } },
    ],
    [
      'one disk attached to a VM',
      chosen('disks', { diskMode: 'attach', disks: ['vdb'], targetVmId: choices.vms[0]!.id, pool: 'default', format: 'raw' }),
      { kind: 'disks', disks: ['vdb'], to: { mode: 'attach', vmId: choices.vms[0]!.id, pool: 'default', format: 'raw' } },
    ],
    [
      'disks over a VM, confirmed',
      chosen('disks', { diskMode: 'replace', disks: ['vda'], targetVmId: choices.vms[0]!.id, confirm: true }),
      { kind: 'disks', to: { mode: 'replace', vmId: choices.vms[0]!.id, confirmOverwrite: true } },
    ],
    [
      'an instant recovery under the original name, networks off',
      chosen('instant'),
      { kind: 'instant', name: 'web-1', connectionId: connection.id, networks: 'disconnected' },
    ],
  ])('%s: a request the API takes', (_name, draft, expected) => {
    expect(targetComplete(draft)).toBe(true);
    const parsed = restoreRequestSchema.safeParse(requestOf(draft));
    expect(parsed.success).toBe(true);
    expect(parsed.data).toMatchObject({ pointId: point.id, ...expected });
  });

  it('an unticked confirmation stops the wizard, and is sent as false for the API to name', () => {
    for (const draft of [chosen('vm', { vmMode: 'original' }), chosen('disks', { diskMode: 'replace', targetVmId: choices.vms[0]!.id })]) {
      expect(targetComplete(draft)).toBe(false);
      const parsed = restoreRequestSchema.safeParse(requestOf(draft));
      expect(parsed.error?.issues[0]?.path.join('.')).toMatch(/confirmOverwrite$/);
    }
  });

  it('a VM no longer in the inventory restores only as a new VM, to the first connection', () => {
    const picked = withVm({ ...emptyDraft(choices), vmMode: 'original' }, vm({ vmId: null, inInventory: false, connection: null }), [point], point);
    const gone = { ...withWhat(picked, 'vm'), confirm: true };
    expect(gone.vmMode).toBe('new');
    expect(gone.connectionId).toBe(connection.id);
    expect(targetComplete({ ...gone, vmMode: 'original' })).toBe(false);
  });

  it.each([
    ['pointId', POINT_STEP],
    ['kind', WHAT_STEP],
    ['pool', TARGET_STEP],
    ['to.confirmOverwrite', TARGET_STEP],
  ])('an error about %s is shown on step %i', (field, step) => {
    expect(stepOfField(field)).toBe(step);
  });
});
