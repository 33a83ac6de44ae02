import type { ImageFormat, RestoreRequestInput } from '@strongbox/core';
import type { CatalogPointDto, CatalogVmDto } from '@/server/restore-schemas';
import type { RestoreChoices } from './restore-data';

export type What = 'vm' | 'disks' | 'instant';

/** What the restore wizard has been told so far; `requestOf` makes the API's request of it. */
export type Draft = {
  vm: CatalogVmDto | null;
  points: CatalogPointDto[];
  point: CatalogPointDto | null;
  what: What | null;
  vmMode: 'original' | 'new';
  diskMode: 'pool' | 'attach' | 'replace';
  /** The in-place overwrite is confirmed (original VM, replaced disks). */
  confirm: boolean;
  quickRollback: boolean;
  powerOn: boolean;
  name: string;
  connectionId: string;
  /** '' = the connection's first host. */
  hostId: string;
  pool: string;
  format: ImageFormat;
  networks: 'connected' | 'disconnected';
  disks: string[];
  /** The VM of the inventory an attach or replace writes to. */
  targetVmId: string;
};

export const STEPS = ['Restore point', 'What to restore', 'Where to', 'Summary'] as const;
export const POINT_STEP = 0;
export const WHAT_STEP = 1;
export const TARGET_STEP = 2;
export const SUMMARY_STEP = 3;

export function emptyDraft(choices: RestoreChoices): Draft {
  return {
    vm: null,
    points: [],
    point: null,
    what: null,
    vmMode: 'new',
    diskMode: 'pool',
    confirm: false,
    quickRollback: true,
    powerOn: false,
    name: '',
    connectionId: choices.connections[0]?.id ?? '',
    hostId: '',
    pool: '',
    format: 'qcow2',
    networks: 'connected',
    disks: [],
    targetVmId: '',
  };
}

/** A VM chosen (from the search or a point link): targets default to where it is. */
export function withVm(draft: Draft, vm: CatalogVmDto, points: CatalogPointDto[], point: CatalogPointDto | null = null): Draft {
  return { ...draft, vm, points, point, connectionId: vm.connection?.id ?? draft.connectionId, hostId: '', pool: '', what: null };
}

/** The defaults of each kind, as Veeam's wizard has them: a new VM beside the original; an instant recovery under its name, networks off. */
export function withWhat(draft: Draft, what: What): Draft {
  const vmName = draft.vm?.name ?? draft.point?.vmName ?? '';
  const base = { ...draft, what, confirm: false, disks: draft.point?.disks.map((d) => d.name) ?? [] };
  if (what === 'instant') return { ...base, name: vmName, networks: 'disconnected' };
  return { ...base, vmMode: draft.vm?.inInventory ? draft.vmMode : 'new', name: `${vmName}-restored`, networks: 'connected' };
}

const host = (d: Draft) => (d.hostId ? { hostId: d.hostId } : {});

/**
 * The request the API takes. An unticked confirmation is sent as it is (false): the API
 * refuses it naming the field, which the wizard shows by the box.
 */
export function requestOf(d: Draft): RestoreRequestInput | null {
  if (!d.point || !d.what) return null;
  const pointId = d.point.id;
  switch (d.what) {
    case 'vm':
      return d.vmMode === 'original'
        ? { kind: 'vm-original', pointId, confirmOverwrite: d.confirm as true, quickRollback: d.quickRollback, powerOn: d.powerOn }
        : {
            kind: 'vm-new',
            pointId,
            name: d.name,
            connectionId: d.connectionId,
            ...host(d),
            pool: d.pool,
            format: d.format,
            networks: d.networks,
            powerOn: d.powerOn,
          };
    case 'disks':
      return {
        kind: 'disks',
        pointId,
        disks: d.disks,
        to:
          d.diskMode === 'pool'
            ? { mode: 'pool', connectionId: d.connectionId, pool: d.pool, format: d.format }
            : d.diskMode === 'attach'
              ? { mode: 'attach', vmId: d.targetVmId, pool: d.pool, format: d.format }
              : { mode: 'replace', vmId: d.targetVmId, confirmOverwrite: d.confirm as true },
      };
    case 'instant':
      return { kind: 'instant', pointId, ...(d.name.trim() ? { name: d.name.trim() } : {}), connectionId: d.connectionId, ...host(d), networks: d.networks };
  }
}

/** Whether the target step has what its kind needs (the API checks everything again). */
export function targetComplete(d: Draft): boolean {
  switch (d.what) {
    case 'vm':
      return d.vmMode === 'original' ? d.confirm && Boolean(d.vm?.inInventory) : Boolean(d.name.trim() && d.connectionId && d.pool);
    case 'disks':
      if (d.disks.length === 0) return false;
      if (d.diskMode === 'pool') return Boolean(d.connectionId && d.pool);
      if (d.diskMode === 'attach') return Boolean(d.targetVmId && d.pool);
      return Boolean(d.targetVmId && d.confirm);
    case 'instant':
      return Boolean(d.connectionId);
    default:
      return false;
  }
}

/** The step that shows a field the API named, so that its error is seen next to it. */
export function stepOfField(field: string): number {
  if (field === 'pointId') return POINT_STEP;
  if (field === 'kind') return WHAT_STEP;
  return TARGET_STEP;
}

/** The connection a target VM (attach, replace) is on: its pools are the ones to offer. */
export function targetConnection(d: Draft, choices: RestoreChoices): string {
  if (d.what === 'disks' && d.diskMode !== 'pool') return choices.vms.find((v) => v.id === d.targetVmId)?.connectionId ?? '';
  return d.connectionId;
}
