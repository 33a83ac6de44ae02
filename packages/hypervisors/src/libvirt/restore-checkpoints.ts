import { CHECKPOINT_PREFIX } from '../cbt-plan.js';
import { imageBitmaps, removeImageBitmap, removeRunningBitmap, runningBitmaps } from './bitmaps.js';
import { deleteCheckpoint, dropCheckpointAnyState } from './checkpoints.js';
import { describeDomain } from './inventory.js';
import { lines } from './image-users.js';
import type { Virsh } from './virsh.js';

/** Every checkpoint of a VM, parents before children. */
export async function checkpointsOf(virsh: Virsh, vm: string): Promise<string[]> {
  return lines(await virsh.run(['checkpoint-list', vm, '--name', '--topological']));
}

/**
 * After an in-place restore a VM's checkpoints lie: their bitmaps say what changed since
 * a moment the disks no longer continue from. All go — libvirt's metadata and the bitmaps
 * (through qemu-img for a powered-off VM, which libvirt 9 cannot do) — and so do bitmaps
 * of ours that no checkpoint names, so that the next backup plans a full read, honestly.
 * `metadataOnly` leaves the images alone (they were replaced, or are gone).
 * Returns the checkpoints dropped.
 */
export async function dropAllCheckpoints(virsh: Virsh, vm: string, options: { metadataOnly?: boolean } = {}): Promise<string[]> {
  const dom = await describeDomain(virsh, vm);
  const domain = dom.info.uuid;
  const names = (await checkpointsOf(virsh, domain)).reverse(); // children first: no re-parenting on the way
  for (const name of names) {
    if (options.metadataOnly) await deleteCheckpoint(virsh, domain, name, true);
    else await dropCheckpointAnyState(virsh, domain, name);
  }
  if (options.metadataOnly) return names;
  const qcow2 = dom.info.disks.filter((d) => d.format === 'qcow2' && d.sourceType === 'file');
  if (dom.power === 'running' || dom.power === 'paused') {
    const live = await runningBitmaps(virsh, domain);
    for (const d of qcow2) {
      const entry = live.get(d.source);
      for (const b of entry?.bitmaps ?? []) if (b.name.startsWith(CHECKPOINT_PREFIX)) await removeRunningBitmap(virsh, domain, entry!.node, b.name);
    }
    return names;
  }
  for (const d of qcow2) {
    for (const b of await imageBitmaps(d.source)) if (b.name.startsWith(CHECKPOINT_PREFIX)) await removeImageBitmap(d.source, b.name);
  }
  return names;
}
