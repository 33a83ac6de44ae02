import { CHECKPOINT_PREFIX, type CheckpointFacts } from '../cbt-plan.js';
import { imageBitmaps, removeImageBitmap } from './bitmaps.js';
import { parseDomainXml } from './domain-xml.js';
import { escapeXml, list, node, parseXml, text } from './xml.js';
import type { Virsh } from './virsh.js';

/** What we record in a checkpoint's description, to detect drift later. */
export type CheckpointNote = { strongbox: 1; vmUuid: string; disks: Record<string, { sizeBytes: number; path: string }> };

const NOT_FOUND = /not found|no domain checkpoint|does not exist/i;

export async function listOurCheckpoints(virsh: Virsh, domain: string): Promise<CheckpointFacts[]> {
  const names = (await virsh.run(['checkpoint-list', domain, '--name']))
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.startsWith(CHECKPOINT_PREFIX));
  const out: CheckpointFacts[] = [];
  for (const name of names) {
    const xml = await virsh.tryRun(['checkpoint-dumpxml', domain, name, '--no-domain'], NOT_FOUND);
    if (xml) out.push(parseCheckpoint(xml));
  }
  return out;
}

export function parseCheckpoint(xml: string): CheckpointFacts {
  const cp = node(parseXml(xml, 'checkpoint XML').domaincheckpoint);
  const name = text(cp.name) ?? '';
  let note: CheckpointNote | null = null;
  try {
    const parsed = JSON.parse(text(cp.description) ?? 'null') as CheckpointNote | null;
    note = parsed?.strongbox === 1 ? parsed : null;
  } catch {
    note = null; // a checkpoint someone else described: no recorded sizes to compare
  }
  const disks: CheckpointFacts['disks'] = {};
  for (const d of list(node(cp.disks).disk)) {
    if (d['@checkpoint'] !== 'bitmap') continue;
    const target = String(d['@name']);
    disks[target] = { bitmap: String(d['@bitmap'] ?? name), ...note?.disks[target] };
  }
  return { name, disks, vmUuid: note?.vmUuid };
}

export function checkpointXml(name: string, note: CheckpointNote, allTargets: string[], extra = ''): string {
  const disks = allTargets
    .map((t) =>
      note.disks[t] ? `<disk name='${escapeXml(t)}' checkpoint='bitmap' bitmap='${escapeXml(name)}'/>` : `<disk name='${escapeXml(t)}' checkpoint='no'/>`,
    )
    .join('');
  return `<domaincheckpoint><name>${escapeXml(name)}</name><description>${escapeXml(JSON.stringify(note))}</description>${extra}<disks>${disks}</disks></domaincheckpoint>`;
}

/** Deletes a checkpoint; `metadataOnly` leaves (or accepts missing) bitmaps. Gone already is fine. */
export async function deleteCheckpoint(virsh: Virsh, domain: string, name: string, metadataOnly: boolean): Promise<void> {
  await virsh.tryRun(['checkpoint-delete', domain, name, ...(metadataOnly ? ['--metadata'] : [])], NOT_FOUND);
}

/**
 * Deletes one of our checkpoints with its bitmaps whatever the domain's state: libvirt 9
 * cannot drop the bitmaps of a domain that is not running (a VM that crashed or was
 * powered off under its backup), so then the metadata goes through libvirt and the
 * bitmaps through qemu-img.
 */
export async function dropCheckpointAnyState(virsh: Virsh, domain: string, name: string): Promise<void> {
  try {
    await deleteCheckpoint(virsh, domain, name, false);
  } catch {
    await deleteCheckpoint(virsh, domain, name, true);
    const disks = parseDomainXml(await virsh.run(['dumpxml', '--inactive', domain])).disks.filter((d) => d.format === 'qcow2');
    for (const d of disks) {
      if ((await imageBitmaps(d.source)).some((b) => b.name === name)) await removeImageBitmap(d.source, name);
    }
  }
}
