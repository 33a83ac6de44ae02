import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every lab VM's name starts with this, so that the lab never touches anything else. */
export const LAB_PREFIX = 'sblab-';
export const LIBVIRT_URI = 'qemu:///system';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export type LabPaths = {
  root: string;
  cache: string;
  guest: string;
  kernel: string;
  initrd: string;
  vms: string;
};

export function labPaths(root = join(repoRoot, '.data/lab')): LabPaths {
  return {
    root,
    cache: join(root, 'cache'),
    guest: join(root, 'guest'),
    kernel: join(root, 'guest/vmlinuz'),
    initrd: join(root, 'guest/initrd.img'),
    vms: join(root, 'vms'),
  };
}
