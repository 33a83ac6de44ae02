import { join } from 'node:path';
import { ensureDaemons, ensurePool } from './daemons.js';
import { ensureGuestImage, ensurePackages } from './install.js';
import { labPaths, type LabPaths } from './paths.js';
import { LabError } from './run.js';
import { defineLabVm, destroyLabVm, existingLabVm, listLabVms, startLabVm, type LabVm, type LabVmSpec } from './vm.js';

export { LAB_POOL, labPoolPath } from './daemons.js';
export { GuestConsole } from './guest-console.js';
export { EXT4_LABEL, makeFsImage, XFS_LABEL, XFS_LV, type FsImageSpec, type LabFs } from './fs-disk.js';
export { guestfsEnvironment, type GuestfsEnvironment } from './guestfs-env.js';
export { LAB_PREFIX, LIBVIRT_URI, labPaths, type LabPaths } from './paths.js';
export { LabError } from './run.js';
export { defineLabVm, destroyLabVm, existingLabVm, isRunning, listLabVms, startLabVm, virsh } from './vm.js';
export type { LabDisk, LabDiskSpec, LabVm, LabVmSpec } from './vm.js';

/** Why the lab cannot run here, or null when it can (root on a Debian-like host). */
export function labUnavailableReason(): string | null {
  if (process.platform !== 'linux') return `the lab needs Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'the lab needs root (it installs packages and starts libvirtd)';
  return null;
}

/** Installs what is missing, builds the guest once, starts the daemons. Quick when all is there. */
export async function ensureLab(paths: LabPaths = labPaths()): Promise<LabPaths> {
  const reason = labUnavailableReason();
  if (reason) throw new LabError('LAB_UNAVAILABLE', reason);
  await ensurePackages();
  await ensureGuestImage(paths);
  await ensureDaemons();
  await ensurePool(join(paths.root, 'pool'));
  return paths;
}

/**
 * `lab:up`: the lab plus N running VMs `sblab-1..N` (the first two with a second disk,
 * the first with qemu-guest-agent). VMs already defined are started, not rebuilt.
 */
export async function labUp(count = 2, paths: LabPaths = labPaths()): Promise<LabVm[]> {
  await ensureLab(paths);
  const vms: LabVm[] = [];
  for (let i = 1; i <= count; i++) {
    const spec: LabVmSpec = { name: `sblab-${i}`, disks: i <= 2 ? [{ sizeMiB: 128 }, { sizeMiB: 64 }] : [{ sizeMiB: 128 }], agent: i === 1 };
    const vm = (await existingLabVm(paths, spec.name)) ?? (await defineLabVm(paths, spec));
    const console = await startLabVm(vm);
    console.close();
    vms.push(vm);
  }
  return vms;
}

/** `lab:down`: removes every `sblab-` VM and its files (the cached guest image stays). */
export async function labDown(paths: LabPaths = labPaths()): Promise<string[]> {
  const names = await listLabVms();
  for (const name of names) await destroyLabVm(paths, name);
  return names;
}
