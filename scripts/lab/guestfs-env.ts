import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchKernel } from './install.js';
import { labPaths, type LabPaths } from './paths.js';
import { LabError, run } from './run.js';

/** What libguestfs needs in its environment on a lab machine (see the verified facts on libguestfs). */
export type GuestfsEnvironment = {
  SUPERMIN_KERNEL: string;
  SUPERMIN_MODULES: string;
  SUPERMIN_KERNEL_VERSION: string;
  LIBGUESTFS_BACKEND: 'direct';
  LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg';
  LIBGUESTFS_CACHEDIR: string;
};

/** Written last into `/lib/modules/<version>`, so that a half-done copy is done again. */
const STAMP = '.strongbox-lab';

/** The kernel tree the guest image was built from (its stamp names the package), without asking apt. */
async function builtKernelTree(paths: LabPaths): Promise<string | null> {
  const stamp = join(paths.guest, 'stamp');
  if (!existsSync(stamp)) return null;
  const pkg = (await readFile(stamp, 'utf8')).split(' ')[0];
  const tree = pkg ? join(paths.cache, pkg) : '';
  return tree && existsSync(join(tree, '.done')) ? tree : null;
}

/**
 * Makes libguestfs usable here and returns its environment. The host has no kernel of its
 * own under /lib/modules, and supermin builds the appliance from one: the lab's guest kernel
 * package is copied there (supermin refuses a symlink) and `depmod` run (without modules.dep
 * it aborts). KVM is not usable (nested: "failed to set MSR 0x10a"), so QEMU runs TCG.
 * Call after `ensureLab()`; the second call only checks a stamp.
 */
export async function guestfsEnvironment(paths: LabPaths = labPaths()): Promise<GuestfsEnvironment> {
  const tree = (await builtKernelTree(paths)) ?? (await fetchKernel(paths));
  const versions = await readdir(join(tree, 'lib/modules'));
  const version = versions[0];
  if (!version || versions.length !== 1)
    throw new LabError('LAB_KERNEL', `expected one kernel under ${tree}/lib/modules, found ${versions.join(' ') || 'none'}`);
  const kernel = join(tree, 'boot', `vmlinuz-${version}`);
  if (!existsSync(kernel)) throw new LabError('LAB_KERNEL', `no ${kernel}`);
  const modules = join('/lib/modules', version);
  const stamp = join(modules, STAMP);
  if (!existsSync(stamp) || (await readFile(stamp, 'utf8')) !== tree) {
    await rm(modules, { recursive: true, force: true });
    await mkdir('/lib/modules', { recursive: true });
    await cp(join(tree, 'lib/modules', version), modules, { recursive: true });
    await run('depmod', ['-b', '/', version]);
    await writeFile(stamp, tree);
  }
  const cacheDir = join(paths.cache, 'guestfs');
  await mkdir(cacheDir, { recursive: true });
  return {
    SUPERMIN_KERNEL: kernel,
    SUPERMIN_MODULES: modules,
    SUPERMIN_KERNEL_VERSION: version,
    LIBGUESTFS_BACKEND: 'direct',
    LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg',
    LIBGUESTFS_CACHEDIR: cacheDir,
  };
}
