import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { guestfsEnvironment } from './guestfs-env.js';
import type { LabPaths } from './paths.js';
import { LabError, run } from './run.js';

/**
 * Lab disks with real file systems, made on the host without a guest installer:
 * - `ext4-partitioned`: an MBR table with one partition from 1 MiB to the end, ext4 labelled
 *   `sbdata`, filled by `mke2fs -d` (owners, modes, links and times kept) — no appliance.
 * - `xfs-lvm`: the whole disk an LVM PV, VG `sbvg`, LV `data` (all of it) with XFS labelled
 *   `sbxfs`, built by guestfish once per spec and kept as a template in the lab cache.
 */
export type LabFs = 'ext4-partitioned' | 'xfs-lvm';

export const EXT4_LABEL = 'sbdata';
export const XFS_LABEL = 'sbxfs';
export const XFS_LV = '/dev/sbvg/data';
/** Where the ext4 partition starts (bytes): sfdisk's default alignment. */
const PARTITION_OFFSET = 1024 * 1024;
/** mkfs.xfs (xfsprogs ≥ 5.19) refuses a new file system under 300 MB; LVM takes a few MiB. */
const XFS_MIN_MIB = 320;

export type FsImageSpec = {
  /** The image to write (replaced). */
  target: string;
  format: 'raw' | 'qcow2';
  sizeMiB: number;
  fs: LabFs;
  /** Files to seed: path in the file system (no leading `/` needed) → content. */
  files?: Record<string, string>;
  /**
   * ext4 only: a folder to copy as the file system's root instead of `files`, for owners,
   * modes and links that a map cannot say (mke2fs -d keeps them).
   */
  sourceDir?: string;
};

function relativeSeedPath(path: string): string {
  const rel = path.replace(/^\/+/, '');
  if (!rel || rel.split('/').some((s) => s === '..' || s === '')) throw new LabError('LAB_FS', `seed path must be a plain relative path: ${path}`);
  return rel;
}

async function writeSeedDir(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, relativeSeedPath(path));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

async function placeImage(raw: string, spec: FsImageSpec, keepRaw: boolean): Promise<void> {
  await rm(spec.target, { force: true });
  if (spec.format === 'qcow2') {
    await run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, spec.target]);
    if (!keepRaw) await rm(raw, { force: true });
  } else if (keepRaw) await run('cp', ['--sparse=always', raw, spec.target]);
  else await rename(raw, spec.target);
}

async function makeExt4(spec: FsImageSpec, work: string): Promise<void> {
  let source = spec.sourceDir;
  if (!source) {
    source = join(work, 'root');
    await mkdir(source);
    await writeSeedDir(source, spec.files ?? {});
  }
  const raw = join(work, 'disk.raw');
  await run('truncate', ['-s', `${spec.sizeMiB}M`, raw]);
  await run('sfdisk', ['-q', raw], { input: `label: dos\nstart=${PARTITION_OFFSET / 512}, type=83\n` });
  const fsKiB = spec.sizeMiB * 1024 - PARTITION_OFFSET / 1024;
  await run('mke2fs', ['-F', '-q', '-t', 'ext4', '-L', EXT4_LABEL, '-d', source, '-E', `offset=${PARTITION_OFFSET}`, raw, `${fsKiB}k`]);
  await placeImage(raw, spec, false);
}

/** The cached XFS-on-LVM template of a spec, built with guestfish the first time. */
async function xfsTemplate(paths: LabPaths, spec: FsImageSpec, work: string): Promise<string> {
  const files = Object.entries(spec.files ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  const key = createHash('sha256')
    .update(JSON.stringify({ v: 1, size: spec.sizeMiB, files }))
    .digest('hex')
    .slice(0, 16);
  const dir = join(paths.cache, 'fs-templates');
  const template = join(dir, `xfs-lvm-${key}.raw`);
  if (existsSync(template)) return template;
  await mkdir(dir, { recursive: true });
  const root = join(work, 'root');
  await mkdir(root);
  await writeSeedDir(root, Object.fromEntries(files));
  const tar = join(work, 'files.tar');
  await run('tar', ['-C', root, '-cf', tar, '.']);
  const building = join(work, 'template.raw');
  await run('truncate', ['-s', `${spec.sizeMiB}M`, building]);
  // guestfish runs its script from stdin and stops at the first error (exit code 1).
  const script = [
    `add ${JSON.stringify(building)} format:raw`,
    'run',
    'pvcreate /dev/sda',
    'vgcreate sbvg /dev/sda',
    'lvcreate-free data sbvg 100',
    `mkfs xfs ${XFS_LV} label:${XFS_LABEL}`,
    `mount ${XFS_LV} /`,
    `tar-in ${JSON.stringify(tar)} /`,
    'umount-all',
    'vg-activate-all false',
    '',
  ].join('\n');
  const env = { ...process.env, ...(await guestfsEnvironment(paths)), TMPDIR: work };
  const r = await run('guestfish', [], { input: script, env, allowFailure: true });
  if (r.code !== 0) throw new LabError('LAB_FS', `building the XFS-on-LVM image failed: ${(r.stderr || r.stdout).trim()}`);
  await rename(building, template);
  return template;
}

/** Writes a disk image with a partition table or LVM and a file system holding the seed files. */
export async function makeFsImage(paths: LabPaths, spec: FsImageSpec): Promise<void> {
  if (spec.fs !== 'ext4-partitioned' && spec.fs !== 'xfs-lvm') throw new LabError('LAB_FS', `unknown lab file system ${String(spec.fs)}`);
  if (spec.fs === 'xfs-lvm' && spec.sizeMiB < XFS_MIN_MIB)
    throw new LabError('LAB_FS', `an xfs-lvm disk needs at least ${XFS_MIN_MIB} MiB (mkfs.xfs refuses less), not ${spec.sizeMiB}`);
  if (spec.fs === 'ext4-partitioned' && spec.sizeMiB < 8) throw new LabError('LAB_FS', `an ext4-partitioned disk needs at least 8 MiB, not ${spec.sizeMiB}`);
  if (spec.sourceDir && spec.fs !== 'ext4-partitioned') throw new LabError('LAB_FS', 'sourceDir is for ext4-partitioned disks only');
  await mkdir(paths.cache, { recursive: true });
  const work = await mkdtemp(join(paths.cache, 'fs-work-'));
  try {
    if (spec.fs === 'ext4-partitioned') await makeExt4(spec, work);
    else await placeImage(await xfsTemplate(paths, spec, work), spec, true);
    await chmod(spec.target, 0o644);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
