import { matchesPattern, type JobObject } from './job-spec.js';

/** What the inventory knows of a VM when a run starts. */
export type InventoryVm = {
  id: string;
  name: string;
  hostId: string | null;
  removed: boolean;
  disks: readonly { name: string; sizeBytes: number }[];
};

export type PlannedTask = { vmId: string; vmName: string; diskName: string; sizeBytes: number };

export type RunPlan = {
  tasks: PlannedTask[];
  /** Objects that resolved to nothing, or VMs that cannot be backed up, each with why. */
  warnings: string[];
};

/**
 * Expands a job's objects (VMs, hosts, name patterns resolved now) into one task per VM
 * disk, each VM once even when several objects name it, in the order the objects list
 * them. `onlyVmIds` narrows a retry or a Quick backup to those VMs.
 */
export function planRun(objects: readonly JobObject[], vms: readonly InventoryVm[], onlyVmIds?: readonly string[]): RunPlan {
  const warnings: string[] = [];
  const chosen: InventoryVm[] = [];
  const seen = new Set<string>();
  const live = vms.filter((vm) => !vm.removed);
  const take = (vm: InventoryVm) => {
    if (seen.has(vm.id)) return;
    seen.add(vm.id);
    chosen.push(vm);
  };
  for (const object of objects) {
    if (object.type === 'vm') {
      const vm = vms.find((v) => v.id === object.vmId);
      if (!vm || vm.removed) warnings.push(`VM ${vm?.name ?? object.vmId} is no longer on the hypervisor`);
      else take(vm);
    } else if (object.type === 'host') {
      const onHost = live.filter((v) => v.hostId === object.hostId).sort((a, b) => a.name.localeCompare(b.name));
      if (onHost.length === 0) warnings.push(`host ${object.hostId} has no VMs`);
      onHost.forEach(take);
    } else {
      const matching = live.filter((v) => matchesPattern(v.name, object.pattern)).sort((a, b) => a.name.localeCompare(b.name));
      if (matching.length === 0) warnings.push(`no VM matches "${object.pattern}"`);
      matching.forEach(take);
    }
  }
  const selected = onlyVmIds ? chosen.filter((vm) => onlyVmIds.includes(vm.id)) : chosen;
  const tasks: PlannedTask[] = [];
  for (const vm of selected) {
    if (vm.disks.length === 0) warnings.push(`VM ${vm.name} has no disks to back up`);
    for (const disk of vm.disks) tasks.push({ vmId: vm.id, vmName: vm.name, diskName: disk.name, sizeBytes: disk.sizeBytes });
  }
  return { tasks, warnings };
}

export type RunStatus = 'pending' | 'running' | 'success' | 'warning' | 'failed' | 'cancelled' | 'interrupted';

const FINAL: readonly RunStatus[] = ['success', 'warning', 'failed', 'cancelled', 'interrupted'];
export const isFinal = (status: RunStatus) => FINAL.includes(status);

/**
 * A session's result from its tasks' (house style 6): still running while any task is not
 * final; else the worst of them — failed over interrupted over cancelled over warning over
 * success. A session with warnings of its own (e.g. an object that resolved to nothing)
 * is at best a warning; one with no task at all has failed.
 */
export function rollUp(tasks: readonly RunStatus[], sessionWarnings = 0): RunStatus {
  if (tasks.some((t) => !isFinal(t))) return tasks.some((t) => t === 'running') ? 'running' : 'pending';
  if (tasks.length === 0) return 'failed';
  for (const status of ['failed', 'interrupted', 'cancelled', 'warning'] as const) if (tasks.includes(status)) return status;
  return sessionWarnings > 0 ? 'warning' : 'success';
}
