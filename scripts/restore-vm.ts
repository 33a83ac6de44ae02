/**
 * pnpm restore:vm <vm name|uuid> --repo <path> --name <new name> [--point <time>] [--dir DIR] [--uri URI] [--start]
 *
 * Restores a point of a VM into new qcow2 images and defines them as a new VM (new name,
 * new uuid, no MAC addresses kept) next to the original.
 */
import { messageOf } from '@strongbox/core';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { restoreDisk } from '../packages/pipeline/src/index.js';
import { Repository } from '../packages/repository/src/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    repo: { type: 'string' },
    name: { type: 'string' },
    point: { type: 'string' },
    dir: { type: 'string' },
    uri: { type: 'string', default: 'qemu:///system' },
    start: { type: 'boolean', default: false },
  },
});

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');

/** The point's domain XML as a new VM: new name, no uuid or MACs, new disk files, per-VM sockets moved. */
export function rewriteDomainXml(xml: string, name: string, disks: Map<string, string>, dir: string): string {
  let out = xml.replace(/<name>[^<]*<\/name>/, `<name>${esc(name)}</name>`).replace(/\s*<uuid>[^<]*<\/uuid>/, '');
  out = out.replace(/\s*<mac address=[^>]*\/>/g, '');
  out = out.replace(/<disk\b[\s\S]*?<\/disk>/g, (disk) => {
    const target = /<target dev='([^']+)'/.exec(disk)?.[1];
    const file = target ? disks.get(target) : undefined;
    if (!file) return disk;
    return disk.replace(/<driver ([^>]*?)type='[^']*'/, `<driver $1type='qcow2'`).replace(/<source file='[^']*'/, `<source file='${esc(file)}'`);
  });
  // Unix sockets (serial consoles, agent channels) are per VM: give the copy its own.
  const moved = new Map<string, string>();
  out = out.replace(/<source mode='bind' path='([^']*)'/g, (_, path: string) => {
    if (!moved.has(path)) moved.set(path, join(dir, `socket-${moved.size}.sock`));
    return `<source mode='bind' path='${esc(moved.get(path)!)}'`;
  });
  return out;
}

async function main(): Promise<void> {
  const vm = positionals[0];
  if (!vm || !values.repo || !values.name)
    throw new Error('usage: pnpm restore:vm <vm> --repo <path> --name <new name> [--point <time>] [--dir DIR] [--start]');
  const repo = await Repository.open(values.repo);
  const points = (await repo.listPoints()).filter((p) => p.vmId === vm || p.job?.vmName === vm);
  const point = values.point ? points.find((p) => p.time === values.point || p.id === values.point) : points[points.length - 1];
  if (!point) throw new Error(`no restore point of ${vm}${values.point ? ` at ${values.point}` : ''} in ${values.repo}`);
  if (!point.config) throw new Error(`point ${point.time} of ${vm} carries no VM configuration`);
  const dir = resolve(values.dir ?? join('/var/lib/libvirt/images', values.name));
  mkdirSync(dir, { recursive: true });
  const reader = await repo.openPoint(point.id);
  const files = new Map<string, string>();
  for (const disk of reader.disks) {
    const raw = join(dir, `${disk.name}.raw`);
    const qcow2 = join(dir, `${disk.name}.qcow2`);
    await restoreDisk(reader, disk.name, raw);
    execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
    rmSync(raw);
    files.set(disk.name, qcow2);
    console.log(`${disk.name}: ${(disk.size / 2 ** 20).toFixed(0)} MiB → ${qcow2}`);
  }
  const xmlPath = join(dir, 'domain.xml');
  writeFileSync(xmlPath, rewriteDomainXml(point.config, values.name, files, dir));
  execFileSync('virsh', ['-q', '-c', values.uri!, 'define', xmlPath], { stdio: 'inherit' });
  if (values.start) execFileSync('virsh', ['-q', '-c', values.uri!, 'start', values.name], { stdio: 'inherit' });
  console.log(`${values.name}: defined from point ${point.time} of ${vm}${values.start ? ' and started' : ''}`);
}

main().catch((e: unknown) => {
  console.error(`restore:vm: ${messageOf(e)}`);
  process.exit(1);
});
