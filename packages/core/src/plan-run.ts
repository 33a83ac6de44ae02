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
