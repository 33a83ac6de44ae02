import { isAbsolute } from 'node:path';
import { HypervisorError } from '../errors.js';
import type { AttachDiskRequest, ImageFormat } from '../types.js';
import { diskElementOnto, diskTargets } from './domain-rewrite.js';
import { canonical, diskPaths, imageUsers } from './image-users.js';
import { buildOrdered, element } from './ordered-xml.js';
import { powerState, withXmlFile, type VmContext } from './restored-vm.js';
import type { Virsh } from './virsh.js';

const FORMATS: readonly string[] = ['qcow2', 'raw'];
const BUS: Record<string, string> = { vd: 'virtio', sd: 'scsi', hd: 'ide' };

function checkImage(path: string, format: ImageFormat): void {
  if (!isAbsolute(path)) throw new HypervisorError('HV_RESTORE', `${path} is not an absolute path`);
  if (!FORMATS.includes(format)) throw new HypervisorError('HV_RESTORE', `an image is qcow2 or raw, not ${String(format)}`);
}

/**
 * Points disk `target` of a VM's persistent definition at another image. The rest of the
 * disk's definition (bus, address, cache, serial) stays. `update-device --config` changes
 * that one disk, not the whole definition.
 */
export async function setPersistentDiskSource(virsh: Virsh, vm: string, target: string, path: string, format: ImageFormat): Promise<void> {
  checkImage(path, format);
  const xml = await virsh.run(['dumpxml', '--inactive', vm]);
  const disk = diskElementOnto(xml, target, path, format);
  if (!disk) throw new HypervisorError('HV_RESTORE', `${vm} has no disk ${target} (it has ${diskTargets(xml).join(', ') || 'none'})`);
  await withXmlFile(disk, (file) => virsh.run(['update-device', vm, file, '--config']));
}

/** In-place restore of a disk onto a new image: for a powered-off VM only. */
export async function replaceDiskSource(ctx: VmContext, vm: string, target: string, path: string, format: ImageFormat): Promise<void> {
  const state = await powerState(ctx.virsh, vm);
  if (state !== 'stopped') throw new HypervisorError('HV_BUSY', `${vm} is ${state}: its disks are replaced only when it is powered off`);
  await refuseOtherUsers(ctx, vm, path);
  await setPersistentDiskSource(ctx.virsh, vm, target, path, format);
}

async function refuseOtherUsers(ctx: VmContext, vm: string, path: string): Promise<void> {
  const others = (await imageUsers(ctx.virsh, path, ctx.isLocal ? canonical : undefined)).filter((u) => u.vm !== vm);
  if (others.length > 0) throw new HypervisorError('HV_BUSY', `${path} is a disk of VM ${others.map((u) => u.vm).join(', ')}`);
}

/** The first of vda…vdz that no disk of the VM (persistent or live) uses. */
export function nextFreeTarget(taken: Iterable<string>, prefix = 'vd'): string | null {
  const used = new Set(taken);
  for (let i = 0; i < 26; i++) {
    const t = `${prefix}${String.fromCharCode(97 + i)}`;
    if (!used.has(t)) return t;
  }
  return null;
}

/** Adds a restored image to a VM's persistent definition, on the next free target (or the one asked for). */
export async function attachDisk(ctx: VmContext, vm: string, disk: AttachDiskRequest): Promise<{ target: string }> {
  const { virsh } = ctx;
  checkImage(disk.path, disk.format);
  const state = await powerState(virsh, vm);
  const xmls = [await virsh.run(['dumpxml', '--inactive', vm])];
  if (state !== 'stopped') xmls.push(await virsh.run(['dumpxml', vm]));
  const taken = xmls.flatMap(diskTargets);
  const resolve = ctx.isLocal ? canonical : (p: string) => p;
  if (xmls.flatMap(diskPaths).some((p) => resolve(p) === resolve(disk.path))) {
    throw new HypervisorError('HV_EXISTS', `${disk.path} is already a disk of ${vm}`);
  }
  await refuseOtherUsers(ctx, vm, disk.path);
  let target = disk.target;
  if (target !== undefined && taken.includes(target)) throw new HypervisorError('HV_EXISTS', `${vm} already has a disk ${target}`);
  target ??= nextFreeTarget(taken) ?? undefined;
  if (!target) throw new HypervisorError('HV_RESTORE', `${vm} has no free virtio disk target left (vda…vdz are taken)`);
  const bus = BUS[target.slice(0, 2)];
  if (!bus || !/^(vd|sd|hd)[a-z]+$/.test(target)) throw new HypervisorError('HV_RESTORE', `${target} is not a disk target (vdX, sdX or hdX)`);
  const xml = buildOrdered([
    element('disk', { type: 'file', device: 'disk' }, [
      element('driver', { name: 'qemu', type: disk.format }),
      element('source', { file: disk.path }),
      element('target', { dev: target, bus }),
    ]),
  ]);
  await withXmlFile(xml, (file) => virsh.run(['attach-device', vm, file, '--config']));
  return { target };
}
