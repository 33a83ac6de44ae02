import { chmodSync, chownSync, existsSync, readFileSync, statSync } from 'node:fs';
import { LIBVIRT_URI } from './paths.js';
import { LabError, run } from './run.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function running(name: string): Promise<boolean> {
  return (await run('pidof', [name], { allowFailure: true })).code === 0;
}

async function libvirtAnswers(): Promise<boolean> {
  return (await run('virsh', ['-c', LIBVIRT_URI, 'version'], { allowFailure: true })).code === 0;
}

/** The `kvm` group's id, from /etc/group (Debian's qemu packages create it). */
function kvmGid(): number | null {
  const line = existsSync('/etc/group') ? /^kvm:[^:]*:(\d+):/m.exec(readFileSync('/etc/group', 'utf8')) : null;
  return line ? Number(line[1]) : null;
}

/**
 * Gives /dev/kvm the owner and mode Debian's udev rule gives it (root:kvm 0660). Machines
 * without udev leave it root:root 0600; libvirt then finds KVM unusable for its QEMU user
 * and throws away its cached QEMU capabilities at every `virsh define`, re-probing QEMU
 * for ~45 s each time. The lab's guests run under TCG either way (`type='qemu'`).
 */
function fixKvmPermissions(): void {
  if (!existsSync('/dev/kvm')) return;
  const gid = kvmGid();
  if (gid === null) return;
  const st = statSync('/dev/kvm');
  if (st.gid === gid && (st.mode & 0o060) === 0o060) return;
  chownSync('/dev/kvm', st.uid, gid);
  chmodSync('/dev/kvm', (st.mode & 0o7777) | 0o060);
}

/**
 * Starts virtlogd and libvirtd as daemons when they are not running (no systemd on these
 * machines). Without virtlogd, `virsh start` fails on a missing virtlogd socket.
 */
export async function ensureDaemons(): Promise<void> {
  fixKvmPermissions();
  if (!(await running('virtlogd'))) await run('virtlogd', ['-d']);
  if (!(await running('libvirtd'))) {
    // A libvirtd that died uncleanly leaves its pid file; it refuses to start over it.
    if (existsSync('/run/libvirtd.pid')) await run('rm', ['-f', '/run/libvirtd.pid']);
    await run('libvirtd', ['-d']);
  }
  for (let i = 0; i < 100; i++) {
    if (await libvirtAnswers()) return;
    await sleep(100);
  }
  throw new LabError('LAB_LIBVIRT', `libvirtd does not answer on ${LIBVIRT_URI} after 10 s`);
}

/** The lab's storage pool: where restores write their images, as they would into a host's pool. */
export const LAB_POOL = 'sblab-pool';

/**
 * A directory storage pool `sblab-pool` at `dir`, defined, built, started and autostarted
 * when missing or stopped (libvirtd without systemd does not autostart it after a restart).
 * libvirt's pools are machine-wide: one defined by another checkout is kept while its folder
 * exists (tests ask libvirt for its path, `labPoolPath`), and redefined here when it is gone.
 */
export async function ensurePool(dir: string): Promise<void> {
  let info = await run('virsh', ['-c', LIBVIRT_URI, 'pool-info', LAB_POOL], { allowFailure: true });
  if (info.code === 0) {
    const target = await labPoolPath();
    if (!existsSync(target)) {
      await run('virsh', ['-c', LIBVIRT_URI, 'pool-destroy', LAB_POOL], { allowFailure: true });
      await run('virsh', ['-c', LIBVIRT_URI, 'pool-undefine', LAB_POOL]);
      info = { ...info, code: 1, stdout: '' };
    }
  }
  if (info.code !== 0) {
    await run('virsh', ['-c', LIBVIRT_URI, 'pool-define-as', LAB_POOL, 'dir', '--target', dir]);
    await run('virsh', ['-c', LIBVIRT_URI, 'pool-build', LAB_POOL]);
  }
  if (!/State:\s+running/.test(info.stdout)) {
    await run('virsh', ['-c', LIBVIRT_URI, 'pool-start', LAB_POOL], { allowFailure: true });
    await run('virsh', ['-c', LIBVIRT_URI, 'pool-autostart', LAB_POOL], { allowFailure: true });
  }
}

/** The folder of the lab's pool, as libvirt has it. */
export async function labPoolPath(): Promise<string> {
  const { stdout } = await run('virsh', ['-c', LIBVIRT_URI, 'pool-dumpxml', LAB_POOL]);
  const path = /<path>([^<]+)<\/path>/.exec(stdout)?.[1];
  if (!path) throw new LabError('LAB_LIBVIRT', `pool ${LAB_POOL} has no target path`);
  return path;
}
