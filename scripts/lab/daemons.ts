import { existsSync } from 'node:fs';
import { LIBVIRT_URI } from './paths.js';
import { LabError, run } from './run.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function running(name: string): Promise<boolean> {
  return (await run('pidof', [name], { allowFailure: true })).code === 0;
}

async function libvirtAnswers(): Promise<boolean> {
  return (await run('virsh', ['-c', LIBVIRT_URI, 'version'], { allowFailure: true })).code === 0;
}

/**
 * Starts virtlogd and libvirtd as daemons when they are not running (no systemd on these
 * machines). Without virtlogd, `virsh start` fails on a missing virtlogd socket.
 */
export async function ensureDaemons(): Promise<void> {
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
