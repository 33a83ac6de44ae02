import { NbdClient, STATE_DIRTY, walkStatus } from '@strongbox/nbd';
import { HypervisorError } from '../errors.js';
import type { DirtyExtent } from '../types.js';
import { parseCheckpoint } from './checkpoints.js';
import { openImageExport, type ExportContext } from './image-export.js';
import { describeDomain } from './inventory.js';

/**
 * What changed on one disk of a powered-off VM since a checkpoint: the checkpoint's
 * persistent bitmap in the qcow2, read over a read-only qemu-nbd export. Quick rollback
 * writes back only these blocks (and those that differ between points). A running VM is
 * refused: its disks change under the answer.
 */
export async function dirtyExtentsSince(ctx: ExportContext, vm: string, target: string, checkpoint: string): Promise<DirtyExtent[]> {
  const dom = await describeDomain(ctx.virsh, vm);
  const name = dom.info.name;
  if (dom.power !== 'stopped') throw new HypervisorError('HV_BUSY', `${name} is ${dom.power}: its changed blocks are read only when it is powered off`);
  const disk = dom.info.disks.find((d) => d.target === target);
  if (!disk) throw new HypervisorError('HV_RESTORE', `${name} has no disk ${target} (it has ${dom.info.disks.map((d) => d.target).join(', ') || 'none'})`);
  if (disk.sourceType !== 'file' || disk.format !== 'qcow2') {
    throw new HypervisorError(
      'HV_UNSUPPORTED',
      `disk ${target} of ${name} is a ${disk.format} ${disk.sourceType} disk: only qcow2 images carry changed-block bitmaps`,
    );
  }
  const xml = await ctx.virsh.tryRun(['checkpoint-dumpxml', dom.info.uuid, checkpoint, '--no-domain'], /not found|no domain checkpoint|does not exist/i);
  if (!xml) throw new HypervisorError('HV_RESTORE', `${name} has no checkpoint ${checkpoint}`);
  const bitmap = parseCheckpoint(xml).disks[target]?.bitmap;
  if (!bitmap) throw new HypervisorError('HV_RESTORE', `checkpoint ${checkpoint} of ${name} does not track disk ${target}`);

  const exported = await openImageExport(ctx, disk.source, 'qcow2', { bitmap, readOnly: true, connections: 1 });
  try {
    const context = `qemu:dirty-bitmap:${bitmap}`;
    const client = await NbdClient.connect({ endpoint: exported.endpoint, exportName: exported.exportName, metaContexts: [context] });
    try {
      const id = client.contextId(context);
      if (id === undefined) throw new HypervisorError('HV_EXPORT', `qemu-nbd did not offer ${context} for ${disk.source}`);
      const out: DirtyExtent[] = [];
      for await (const s of walkStatus(client, [id])) {
        const dirty = (s.flags[0]! & STATE_DIRTY) !== 0;
        const last = out[out.length - 1];
        if (last && last.dirty === dirty && last.offset + last.length === s.offset) last.length += s.length;
        else out.push({ offset: s.offset, length: s.length, dirty });
      }
      return out;
    } finally {
      await client.close();
    }
  } finally {
    await exported.close();
  }
}
