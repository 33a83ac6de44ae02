import { createHash } from 'node:crypto';
import { chmod, mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LibvirtConnector } from '../../packages/hypervisors/src/index.js';
import { NbdServer } from '../../packages/nbd/src/index.js';
import { PointDiskSource } from '../../packages/pipeline/src/index.js';
import type { PointReader, Repository } from '../../packages/repository/src/index.js';
import { GuestConsole, LabError, destroyLabVm, virsh, type LabPaths } from '../lab/index.js';
import { labVmXml, type LabVm } from '../lab/vm.js';
import { DISK } from './ours.js';
import { exec } from './tools.js';

/**
 * Instant recovery as the mover does it (apps/worker/src/mover/instant.ts), timed from
 * opening the point to the guest reading its disk: our NbdServer serves the point's disk
 * from the repository (PointDiskSource), a qcow2 overlay is made on that export
 * (createNbdOverlay), and a lab VM with the overlay as its disk is defined and booted.
 */

const MiB = 2 ** 20;
const PROBE = 1024; // KiB: the guest reads the first and the last MiB of the disk
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type InstantTimes = { seconds: number; serveS: number; overlayS: number; startS: number; bootS: number; readS: number };

/** md5 of the disk's first and last MiB, as the guest should read them (from the raw image the point was made of). */
export async function probeDigests(image: string, size: number): Promise<[first: string, last: string]> {
  const fh = await open(image, 'r');
  try {
    const md5 = async (offset: number) => {
      const { buffer } = await fh.read(Buffer.alloc(PROBE * 1024), 0, PROBE * 1024, offset);
      return createHash('md5').update(buffer).digest('hex');
    };
    return [await md5(0), await md5(size - MiB)];
  } finally {
    await fh.close();
  }
}

/**
 * Pings every 200 ms until one is answered, so that the time is not rounded up to
 * GuestConsole.waitReady's 3 s timeout. Pings sent before the guest listens are lost;
 * the console closing is not.
 */
async function firstAnswer(guest: GuestConsole, timeoutMs: number): Promise<void> {
  let answered = false;
  let closed: Error | null = null;
  const deadline = performance.now() + timeoutMs;
  while (!answered && !closed && performance.now() < deadline) {
    guest.command('p', timeoutMs).then(
      () => (answered = true),
      (e: Error) => {
        // A timeout only means this ping fell into a boot that was not listening yet; a later one is answered.
        if (!(e instanceof LabError && e.code === 'LAB_GUEST_TIMEOUT')) closed ??= e;
      },
    );
    await sleep(200);
  }
  if (closed) throw closed;
  if (!answered) throw new LabError('LAB_GUEST_TIMEOUT', `the guest did not answer within ${timeoutMs / 1000} s`);
}

type Running = { reader?: PointReader; source?: PointDiskSource; server?: NbdServer; guest?: GuestConsole; vm?: string };
let running: Running | null = null;

/** Stops the VM, the NBD server and the point (Ctrl-C, or the end of a phase). */
export async function stopInstant(paths: LabPaths): Promise<void> {
  const r = running;
  running = null;
  if (!r) return;
  r.guest?.close();
  if (r.vm) await destroyLabVm(paths, r.vm);
  await r.server?.close();
  await r.source?.close();
  await r.reader?.close();
}

type Boot = { startS: number; bootS: number; readS: number };

/** Defines and starts lab VM `name` with `overlay` as its one disk, waits for its console and has it read the disk's first and last MiB. */
async function boot(paths: LabPaths, r: Running, name: string, overlay: string, size: number, expected: [string, string]): Promise<Boot> {
  const t0 = performance.now();
  // A lab VM (scripts/lab/vm.ts) whose one disk is the overlay.
  const vmDir = join(paths.vms, name);
  await mkdir(vmDir, { recursive: true });
  await chmod(vmDir, 0o755);
  const vm: LabVm = {
    name,
    dir: vmDir,
    consoleSocket: join(vmDir, 'console.sock'),
    disks: [{ target: 'vda', path: overlay, format: 'qcow2', sizeBytes: size }],
  };
  await writeFile(join(vmDir, 'domain.xml'), labVmXml(paths, vm, { name }));
  r.vm = name;
  await virsh('define', join(vmDir, 'domain.xml'));
  await virsh('start', name);
  // A Ctrl-C while libvirt was defining or starting it: stopInstant may have found nothing to remove yet.
  if (running !== r) {
    await destroyLabVm(paths, name);
    throw new Error('stopped');
  }
  const t1 = performance.now();
  r.guest = await GuestConsole.connect(vm.consoleSocket);
  await firstAnswer(r.guest, 120_000);
  const t2 = performance.now();
  const first = await r.guest.md5('vda', 0, PROBE);
  const last = await r.guest.md5('vda', size / 1024 - PROBE, PROBE);
  const t3 = performance.now();
  if (first !== expected[0] || last !== expected[1]) {
    throw new Error(`the guest read other bytes than the image holds: first MiB md5 ${first} vs ${expected[0]}, last MiB ${last} vs ${expected[1]}`);
  }
  return { startS: (t1 - t0) / 1000, bootS: (t2 - t1) / 1000, readS: (t3 - t2) / 1000 };
}

/**
 * Boots VM `name` (an `sblab-bench-` lab VM) from point `pointId` and returns the times;
 * throws when the guest reads other bytes than `expected`. Everything it started is
 * stopped and removed before it returns (the overlay stays in `dir` for the caller to remove).
 */
export async function instantRecovery(
  connector: LibvirtConnector,
  paths: LabPaths,
  repo: Repository,
  pointId: string,
  opts: { name: string; dir: string; expected: [string, string] },
): Promise<InstantTimes> {
  const r: Running = (running = {});
  try {
    const t0 = performance.now();
    r.reader = await repo.openPoint(pointId);
    const disk = r.reader.disk(DISK);
    r.source = new PointDiskSource(disk);
    const socketPath = join(opts.dir, `${opts.name}.sock`);
    r.server = await NbdServer.listen({ unix: socketPath }, new Map([[DISK, r.source]]));
    // QEMU runs as libvirt-qemu: it must be allowed to connect to a socket this root process made.
    await chmod(socketPath, 0o777);
    const t1 = performance.now();
    const overlay = await connector.createNbdOverlay(opts.dir, `${opts.name}-${DISK}.qcow2`, { socketPath, exportName: DISK, sizeBytes: disk.size });
    const t2 = performance.now();
    const b = await boot(paths, r, opts.name, overlay, disk.size, opts.expected);
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, serveS: (t1 - t0) / 1000, overlayS: (t2 - t1) / 1000, ...b };
  } finally {
    if (running === r) await stopInstant(paths);
  }
}

/**
 * The same VM on a qcow2 overlay of the raw image itself, a local file: what booting
 * costs without Strongbox, so that instant_s can be read against it (under TCG the
 * guest's boot is most of it).
 */
export async function localBoot(
  paths: LabPaths,
  image: string,
  size: number,
  opts: { name: string; dir: string; expected: [string, string] },
): Promise<Boot & { seconds: number }> {
  const r: Running = (running = {});
  try {
    const t0 = performance.now();
    const overlay = join(opts.dir, `${opts.name}-${DISK}.qcow2`);
    await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', image, overlay, String(size)]);
    const b = await boot(paths, r, opts.name, overlay, size, opts.expected);
    return { seconds: (performance.now() - t0) / 1000, ...b };
  } finally {
    if (running === r) await stopInstant(paths);
  }
}
