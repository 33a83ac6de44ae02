import { exec } from '../exec.js';
import { HypervisorError } from '../errors.js';
import type { BitmapFacts } from '../cbt-plan.js';
import type { Virsh } from './virsh.js';

type QmpBitmap = { name?: string; recording?: boolean; persistent?: boolean; inconsistent?: boolean };
type QmpNode = { 'node-name': string; drv: string; file: string; 'dirty-bitmaps'?: QmpBitmap[] };

/** The format nodes of a running VM, by image path, with their persistent bitmaps. */
export async function runningBitmaps(virsh: Virsh, domain: string): Promise<Map<string, { node: string; bitmaps: BitmapFacts[] }>> {
  const out = await virsh.run(['qemu-monitor-command', domain, '{"execute":"query-named-block-nodes","arguments":{"flat":true}}']);
  const nodes = (JSON.parse(out) as { return: QmpNode[] }).return;
  const byPath = new Map<string, { node: string; bitmaps: BitmapFacts[] }>();
  for (const n of nodes) {
    if (n.drv !== 'qcow2' || byPath.has(n.file)) continue;
    const bitmaps = (n['dirty-bitmaps'] ?? [])
      .filter((b): b is QmpBitmap & { name: string } => typeof b.name === 'string' && b.persistent === true)
      .map((b) => ({ name: b.name, recording: b.recording === true, inconsistent: b.inconsistent === true }));
    byPath.set(n.file, { node: n['node-name'], bitmaps });
  }
  return byPath;
}

export async function removeRunningBitmap(virsh: Virsh, domain: string, node: string, bitmap: string): Promise<void> {
  const cmd = JSON.stringify({ execute: 'block-dirty-bitmap-remove', arguments: { node, name: bitmap } });
  await virsh.run(['qemu-monitor-command', domain, cmd]);
}

type ImageInfo = {
  'virtual-size': number;
  format: string;
  'format-specific'?: { type: string; data?: { bitmaps?: { name: string; flags: string[] }[] } };
};

async function qemuImg(args: string[]): Promise<string> {
  const r = await exec('qemu-img', args, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new HypervisorError('HV_COMMAND', `qemu-img ${args[0]} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Bitmaps stored in a qcow2 image that no QEMU has open. */
export async function imageBitmaps(path: string): Promise<BitmapFacts[]> {
  const info = JSON.parse(await qemuImg(['info', '-U', '--output=json', path])) as ImageInfo;
  return (info['format-specific']?.data?.bitmaps ?? []).map((b) => ({
    name: b.name,
    // 'auto': enabled, records writes. 'in-use': not stored cleanly — may have missed writes.
    recording: b.flags.includes('auto'),
    inconsistent: b.flags.includes('in-use'),
  }));
}

export async function addImageBitmap(path: string, bitmap: string): Promise<void> {
  await qemuImg(['bitmap', '--add', path, bitmap]);
}

export async function removeImageBitmap(path: string, bitmap: string): Promise<void> {
  await qemuImg(['bitmap', '--remove', path, bitmap]);
}

export async function imageVirtualSize(path: string): Promise<number> {
  return (JSON.parse(await qemuImg(['info', '-U', '--output=json', path])) as ImageInfo)['virtual-size'];
}
