import { planCbt, type CbtPlan, type DiskFacts, type Repair } from '../cbt-plan.js';
import type { SessionLogEntry } from '../types.js';
import { imageBitmaps, removeImageBitmap, removeRunningBitmap, runningBitmaps } from './bitmaps.js';
import { deleteCheckpoint, listOurCheckpoints } from './checkpoints.js';
import type { DomainSnapshot } from './inventory.js';
import type { Virsh } from './virsh.js';

/** Gathers what libvirt and the images say about a VM's checkpoints and plans from it. */
export async function planForDomain(
  virsh: Virsh,
  dom: DomainSnapshot,
  since: string | null,
  readWhole = false,
): Promise<CbtPlan & { nodes: Map<string, string> }> {
  const running = dom.power === 'running' || dom.power === 'paused';
  const live = running ? await runningBitmaps(virsh, dom.info.uuid) : null;
  const nodes = new Map<string, string>();
  const disks: DiskFacts[] = [];
  for (const d of dom.info.disks) {
    let bitmaps: DiskFacts['bitmaps'] = null;
    if (d.format === 'qcow2' && d.sourceType === 'file') {
      if (live) {
        const entry = live.get(d.source);
        if (entry) nodes.set(d.target, entry.node);
        bitmaps = entry?.bitmaps ?? null;
      } else {
        bitmaps = await imageBitmaps(d.source);
      }
    }
    disks.push({ target: d.target, path: d.source, format: d.format, sizeBytes: dom.sizes.get(d.target) ?? 0, bitmaps });
  }
  const checkpoints = await listOurCheckpoints(virsh, dom.info.uuid);
  return { ...planCbt({ vmUuid: dom.info.uuid, since, readWhole, checkpoints, disks }), nodes };
}

/**
 * Carries out the plan's repairs. libvirt 9 cannot delete a checkpoint of a stopped VM
 * with its bitmaps, so there the metadata goes through libvirt and the bitmaps through qemu-img.
 */
export async function applyRepairs(virsh: Virsh, dom: DomainSnapshot, plan: CbtPlan & { nodes: Map<string, string> }, log: SessionLogEntry[]): Promise<void> {
  const running = dom.power === 'running' || dom.power === 'paused';
  const pending: Repair[] = [...plan.repairs];
  for (const r of pending) {
    if (r.kind === 'delete-checkpoint') {
      if (running || r.metadataOnly) {
        await deleteCheckpoint(virsh, dom.info.uuid, r.name, r.metadataOnly);
        continue;
      }
      await deleteCheckpoint(virsh, dom.info.uuid, r.name, true);
      for (const d of dom.info.disks.filter((d) => d.format === 'qcow2')) {
        const has = (await imageBitmaps(d.source)).some((b) => b.name === r.name);
        if (has) await removeImageBitmap(d.source, r.name);
      }
      continue;
    }
    if (running) {
      const node = plan.nodes.get(r.target);
      if (!node) {
        log.push({ level: 'warning', code: 'CBT_REPAIR_FAILED', message: `cannot find the block node of ${r.target} to remove bitmap ${r.bitmap}` });
        continue;
      }
      await removeRunningBitmap(virsh, dom.info.uuid, node, r.bitmap);
    } else {
      await removeImageBitmap(r.path, r.bitmap);
    }
  }
}
