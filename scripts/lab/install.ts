import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildCpio, type CpioEntry } from './cpio.js';
import { GUEST_INIT } from './guest-init.js';
import type { LabPaths } from './paths.js';
import { LabError, run, which } from './run.js';

/** Debian packages the lab needs; each line is one binary the lab checks for. */
const APT_PACKAGES: [binary: string, pkg: string][] = [
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['qemu-img', 'qemu-utils'],
  ['libvirtd', 'libvirt-daemon-system'],
  ['virsh', 'libvirt-clients'],
  ['nbdcopy', 'libnbd-bin'],
  ['/bin/busybox', 'busybox-static'],
  ['/usr/sbin/qemu-ga', 'qemu-guest-agent'],
  // Guest files: libguestfs reads the guests' file systems; sfdisk and mke2fs build lab disks.
  ['guestfish', 'libguestfs-tools'],
  // A Recommends of libguestfs0 (skipped by --no-install-recommends): puts xfsprogs in the appliance.
  ['/usr/lib/x86_64-linux-gnu/guestfs/supermin.d/packages-xfs', 'libguestfs-xfs'],
  ['sfdisk', 'fdisk'],
  ['mke2fs', 'e2fsprogs'],
];

const GUEST_MODULES = [
  'virtio_ring',
  'virtio',
  'virtio_pci_modern_dev',
  'virtio_pci_legacy_dev',
  'virtio_pci',
  'virtio_blk',
  'virtio_console',
  // ext4 and what it needs, so that /init mounts a lab disk's ext4 partition (`fs: 'ext4-partitioned'`).
  // Debian's cloud kernel has them built in (then they are skipped); another kernel may not.
  'crc16',
  'crc32c_generic',
  'mbcache',
  'jbd2',
  'ext4',
];

const log = (message: string) => process.stderr.write(`lab: ${message}\n`);

export async function ensurePackages(): Promise<void> {
  const missing: string[] = [];
  for (const [binary, pkg] of APT_PACKAGES) {
    const present = binary.startsWith('/') ? existsSync(binary) : await which(binary);
    if (!present) missing.push(pkg);
  }
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new LabError('LAB_NOT_ROOT', `the lab needs root to install ${missing.join(' ')}`);
  log(`installing ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', ...missing];
  const first = await run('apt-get', install, { env, allowFailure: true });
  if (first.code === 0) return;
  await run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update'], { env });
  await run('apt-get', install, { env });
}

/** The exact kernel package `linux-image-cloud-amd64` depends on (never a glob: that fetches every version). */
async function kernelPackageName(): Promise<string> {
  let { stdout } = await run('apt-cache', ['depends', 'linux-image-cloud-amd64'], { allowFailure: true });
  if (!/Depends:/.test(stdout)) {
    // A fresh machine may have no package lists yet.
    await run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update']);
    ({ stdout } = await run('apt-cache', ['depends', 'linux-image-cloud-amd64']));
  }
  const match = /Depends:\s*(linux-image-\S+-cloud-amd64)/.exec(stdout);
  if (!match?.[1]) throw new LabError('LAB_KERNEL', `apt-cache names no cloud kernel package:\n${stdout}`);
  return match[1];
}

/** The lab's kernel package, extracted under the lab cache (downloaded once). */
export async function fetchKernel(paths: LabPaths): Promise<string> {
  const pkg = await kernelPackageName();
  const extracted = join(paths.cache, pkg);
  if (existsSync(join(extracted, '.done'))) return extracted;
  await mkdir(paths.cache, { recursive: true });
  log(`downloading ${pkg}`);
  await rm(extracted, { recursive: true, force: true });
  const debs = async () => (await readdir(paths.cache)).filter((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if ((await debs()).length === 0) await run('apt-get', ['download', pkg], { cwd: paths.cache });
  const deb = (await debs())[0];
  if (!deb) throw new LabError('LAB_KERNEL', `apt-get download ${pkg} left no .deb in ${paths.cache}`);
  await run('dpkg-deb', ['-x', join(paths.cache, deb), extracted]);
  await writeFile(join(extracted, '.done'), pkg);
  await rm(join(paths.cache, deb));
  return extracted;
}

async function findFiles(dir: string, test: (name: string) => boolean, found: string[] = []): Promise<string[]> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await findFiles(path, test, found);
    else if (test(entry.name)) found.push(path);
  }
  return found;
}

async function moduleData(path: string): Promise<Buffer> {
  // Newer Debian kernels ship xz-compressed modules; busybox insmod wants them plain.
  if (path.endsWith('.xz')) return execFileSync('xz', ['-dc', path], { maxBuffer: 64 << 20 });
  return readFile(path);
}

/** Shared libraries of a dynamically linked binary, as `ldd` resolves them. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

async function buildInitramfs(kernelTree: string, target: string): Promise<void> {
  const entries: CpioEntry[] = ['bin', 'dev', 'proc', 'sys', 'run', 'tmp', 'modules', 'usr', 'usr/sbin'].map((d) => ({
    path: d,
    kind: 'dir' as const,
  }));
  entries.push({ path: 'bin/busybox', kind: 'file', data: await readFile('/bin/busybox'), mode: 0o755 });
  entries.push({ path: 'bin/sh', kind: 'symlink', target: 'busybox' });
  entries.push({ path: 'init', kind: 'file', data: Buffer.from(GUEST_INIT), mode: 0o755 });
  const modules = await findFiles(join(kernelTree, 'lib/modules'), (n) => /\.ko(\.xz)?$/.test(n));
  for (const name of GUEST_MODULES) {
    const path = modules.find((p) => basename(p).replace(/\.ko(\.xz)?$/, '') === name);
    if (!path) continue; // built into this kernel
    entries.push({ path: `modules/${name}.ko`, kind: 'file', data: await moduleData(path) });
  }
  // qemu-guest-agent with the libraries it links, so that quiescing is exercised for real.
  entries.push({ path: 'usr/sbin/qemu-ga', kind: 'file', data: await readFile('/usr/sbin/qemu-ga'), mode: 0o755 });
  const dirs = new Set<string>();
  for (const lib of await sharedLibraries('/usr/sbin/qemu-ga')) {
    const parts = lib.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!dirs.has(dir)) entries.push({ path: dir, kind: 'dir' });
      dirs.add(dir);
    }
    entries.push({ path: parts.join('/'), kind: 'file', data: await readFile(await realpath(lib)), mode: 0o755 });
  }
  const tmp = `${target}.tmp`;
  await writeFile(tmp, gzipSync(buildCpio(entries)));
  await rename(tmp, target);
}

/** Builds (once) the guest kernel and initramfs under `.data/lab/guest`. */
export async function ensureGuestImage(paths: LabPaths): Promise<void> {
  const stamp = join(paths.guest, 'stamp');
  const want = await kernelPackageName();
  const initHash = createHash('sha256').update(GUEST_INIT).digest('hex').slice(0, 16);
  const expected = `${want} ${initHash}`;
  if (existsSync(stamp) && (await readFile(stamp, 'utf8')) === expected) return;
  const tree = await fetchKernel(paths);
  await mkdir(paths.guest, { recursive: true });
  const [vmlinuz] = await findFiles(join(tree, 'boot'), (n) => n.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new LabError('LAB_KERNEL', `no vmlinuz in ${tree}/boot`);
  log('building guest initramfs');
  await copyFile(vmlinuz, paths.kernel);
  await buildInitramfs(tree, paths.initrd);
  await chmod(paths.guest, 0o755);
  await writeFile(stamp, expected);
}
