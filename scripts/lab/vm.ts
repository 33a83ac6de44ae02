import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { GuestConsole } from './guest-console.js';
import { LAB_PREFIX, LIBVIRT_URI, type LabPaths } from './paths.js';
import { labPoolPath } from './daemons.js';
import { makeFsImage, type LabFs } from './fs-disk.js';
import { LabError, run } from './run.js';

export type LabDiskSpec = {
  sizeMiB: number;
  format?: 'qcow2' | 'raw';
  /**
   * A real file system instead of seeded raw data (`fs-disk.ts`). The guest mounts an
   * `ext4-partitioned` disk's partition at boot, read-write, at `/mnt/<dev>1`.
   */
  fs?: LabFs;
  /** With `fs`: files to seed, path in the file system → content. */
  files?: Record<string, string>;
};
export type LabVmSpec = {
  /** Must start with `sblab-`. */
  name: string;
  disks?: LabDiskSpec[];
  memoryMiB?: number;
  /** Adds the qemu-guest-agent channel (the guest then runs qemu-ga). */
  agent?: boolean;
};
export type LabDisk = { target: string; path: string; format: 'qcow2' | 'raw'; sizeBytes: number; fs?: LabFs };
export type LabVm = { name: string; dir: string; consoleSocket: string; disks: LabDisk[] };

export const virsh = (...args: string[]) => run('virsh', ['-c', LIBVIRT_URI, ...args]);

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');

export function labVmXml(paths: LabPaths, vm: LabVm, spec: LabVmSpec): string {
  const disks = vm.disks
    .map(
      (d) => `    <disk type='file' device='disk'>
      <driver name='qemu' type='${d.format}'/>
      <source file='${escapeXml(d.path)}'/>
      <target dev='${d.target}' bus='virtio'/>
    </disk>`,
    )
    .join('\n');
  const agent = spec.agent ? `    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>\n` : '';
  // TCG (`type='qemu'`): /dev/kvm is not usable on these machines.
  return `<domain type='qemu'>
  <name>${escapeXml(vm.name)}</name>
  <memory unit='MiB'>${spec.memoryMiB ?? 128}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${escapeXml(paths.kernel)}</kernel>
    <initrd>${escapeXml(paths.initrd)}</initrd>
    <cmdline>console=ttyS0 quiet loglevel=1 panic=-1</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_crash>destroy</on_crash>
  <devices>
${disks}
    <serial type='unix'><source mode='bind' path='${escapeXml(vm.consoleSocket)}'/><target port='0'/></serial>
    <console type='unix'><source mode='bind' path='${escapeXml(vm.consoleSocket)}'/><target type='serial' port='0'/></console>
${agent}    <memballoon model='none'/>
  </devices>
</domain>
`;
}

/** Creates a VM's disks (seeded with some data, so a full backup has something to read) and defines it. */
export async function defineLabVm(paths: LabPaths, spec: LabVmSpec): Promise<LabVm> {
  if (!spec.name.startsWith(LAB_PREFIX) || !/^[a-z0-9-]+$/.test(spec.name)) {
    throw new LabError('LAB_NAME', `lab VM names are lower-case and start with ${LAB_PREFIX}: ${spec.name}`);
  }
  await destroyLabVm(paths, spec.name);
  const dir = join(paths.vms, spec.name);
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  const disks: LabDisk[] = [];
  for (const [i, d] of (spec.disks ?? [{ sizeMiB: 128 }]).entries()) {
    const target = `vd${String.fromCharCode(97 + i)}`;
    const format = d.format ?? 'qcow2';
    const path = join(dir, `${target}.${format}`);
    if (d.fs) {
      await makeFsImage(paths, { target: path, format, sizeMiB: d.sizeMiB, fs: d.fs, files: d.files });
      disks.push({ target, path, format, sizeBytes: d.sizeMiB * 1024 * 1024, fs: d.fs });
      continue;
    }
    await run('qemu-img', ['create', '-q', '-f', format, path, `${d.sizeMiB}M`]);
    const seed = Math.min(8, d.sizeMiB / 4);
    await run('qemu-io', ['-f', format, '-c', `write -q -P 0x5a 0 ${seed}M`, '-c', `write -q -P 0xa5 ${d.sizeMiB / 2}M 1M`, path]);
    disks.push({ target, path, format, sizeBytes: d.sizeMiB * 1024 * 1024 });
  }
  const vm: LabVm = { name: spec.name, dir, consoleSocket: join(dir, 'console.sock'), disks };
  const xmlPath = join(dir, 'domain.xml');
  await (await import('node:fs/promises')).writeFile(xmlPath, labVmXml(paths, vm, spec));
  await virsh('define', xmlPath);
  return vm;
}

export async function isRunning(name: string): Promise<boolean> {
  const r = await run('virsh', ['-c', LIBVIRT_URI, 'domstate', name], { allowFailure: true });
  return r.code === 0 && r.stdout.trim() === 'running';
}

/** Starts a lab VM and waits until its guest answers on the console. */
export async function startLabVm(vm: LabVm): Promise<GuestConsole> {
  if (!(await isRunning(vm.name))) await virsh('start', vm.name);
  const console = await GuestConsole.connect(vm.consoleSocket);
  await console.waitReady();
  return console;
}

/** Removes a lab VM: its backup job, its domain, checkpoint metadata and files. Idempotent. */
export async function destroyLabVm(paths: LabPaths, name: string): Promise<void> {
  if (!name.startsWith(LAB_PREFIX)) throw new LabError('LAB_NAME', `refusing to remove ${name}: not a lab VM`);
  const known = await run('virsh', ['-c', LIBVIRT_URI, 'dominfo', name], { allowFailure: true });
  if (known.code === 0) {
    await run('virsh', ['-c', LIBVIRT_URI, 'domjobabort', name], { allowFailure: true }); // none running is fine
    await run('virsh', ['-c', LIBVIRT_URI, 'destroy', name], { allowFailure: true }); // not running is fine
    await virsh('undefine', name, '--checkpoints-metadata', '--nvram');
  }
  const dir = join(paths.vms, name);
  if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
  // Images a restore made for it in the lab's pool (named after the VM).
  const pool = await labPoolPath().catch(() => join(paths.root, 'pool'));
  if (existsSync(pool)) {
    for (const file of await readdir(pool)) if (file.startsWith(`${name}-`)) await rm(join(pool, file), { force: true });
    await run('virsh', ['-c', LIBVIRT_URI, 'pool-refresh', 'sblab-pool'], { allowFailure: true });
  }
}

export async function listLabVms(): Promise<string[]> {
  const { stdout } = await virsh('list', '--all', '--name');
  return stdout
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.startsWith(LAB_PREFIX));
}

/** A lab VM that is already defined with its files in place, or null. */
export async function existingLabVm(paths: LabPaths, name: string): Promise<LabVm | null> {
  const dir = join(paths.vms, name);
  const known = await run('virsh', ['-c', LIBVIRT_URI, 'dumpxml', '--inactive', name], { allowFailure: true });
  // A domain of that name made by another checkout (libvirt names are machine-wide) is not ours to reuse.
  if (known.code !== 0 || !existsSync(dir) || !known.stdout.includes(join(dir, 'console.sock'))) return null;
  const disks: LabDisk[] = [];
  for (const file of (await readdir(dir)).sort()) {
    const m = /^(vd[a-z])\.(qcow2|raw)$/.exec(file);
    if (!m) continue;
    const path = join(dir, file);
    const info = JSON.parse((await run('qemu-img', ['info', '-U', '--output=json', path])).stdout) as { 'virtual-size': number };
    disks.push({ target: m[1]!, path, format: m[2] as 'qcow2' | 'raw', sizeBytes: info['virtual-size'] });
  }
  return { name, dir, consoleSocket: join(dir, 'console.sock'), disks };
}
