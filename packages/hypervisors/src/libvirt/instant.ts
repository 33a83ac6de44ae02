import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { processStart } from '@strongbox/config';
import { exec } from '../exec.js';
import { HypervisorError } from '../errors.js';
import type { BlockCopyProgress, ImageFormat, NbdOverlaySpec } from '../types.js';
import { imageVirtualSize } from './bitmaps.js';
import { setPersistentDiskSource } from './disk-config.js';
import { canonical, imageUsers } from './image-users.js';
import { checkVolumeName } from './pools.js';
import { parseDomainXml } from './domain-xml.js';
import type { ExportContext } from './image-export.js';
import { powerState, type VmContext } from './restored-vm.js';
import type { Virsh } from './virsh.js';
import { JobDir } from '../work-dir.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NO_JOB = /no current block job|No active block job|not found/i;

/** The backing string of an overlay on an NBD export (the form QEMU 7.2 takes with `-F raw`; see createNbdOverlay). */
export function nbdBackingJson(source: Pick<NbdOverlaySpec, 'socketPath' | 'exportName'>): string {
  // reconnect-delay: qemu-img (and a QEMU not run by libvirt) wait 10 s for a restarted NBD server before I/O fails.
  // libvirt 9.0 rebuilds the chain from its own reading of this header and drops the option (`<reconnect>` too).
  return `json:${JSON.stringify({ file: { driver: 'nbd', server: { type: 'unix', path: source.socketPath }, export: source.exportName, 'reconnect-delay': 10 } })}`;
}

/**
 * Instant recovery: a qcow2 overlay whose backing is a restore point served over NBD.
 * The VM boots from it at once; its writes stay in the overlay; reads it has not written
 * go to the point. qemu-img opens the export to check it, so the server must be up.
 * With `-F raw` the NBD node must sit under `file` (`json:{"file":{"driver":"nbd",…}}`):
 * QEMU 7.2 refuses `json:{"driver":"nbd",…}` there ("A block device must be specified for file").
 */
export async function createNbdOverlay(ctx: VmContext, dir: string, file: string, source: NbdOverlaySpec): Promise<string> {
  if (!ctx.isLocal) throw new HypervisorError('HV_UNSUPPORTED', 'an overlay is made with qemu-img on the mover’s host: run a mover on the VM’s host');
  checkVolumeName(file);
  if (!isAbsolute(dir) || !existsSync(dir)) throw new HypervisorError('HV_RESTORE', `there is no directory ${dir} for the overlay`);
  if (!Number.isSafeInteger(source.sizeBytes) || source.sizeBytes <= 0)
    throw new HypervisorError('HV_RESTORE', `an overlay's size must be a positive byte count, not ${source.sizeBytes}`);
  if (!existsSync(source.socketPath)) throw new HypervisorError('HV_EXPORT', `no NBD server listens on ${source.socketPath}`);
  const path = join(dir, file);
  if (existsSync(path)) throw new HypervisorError('HV_EXISTS', `${path} exists already`);
  const r = await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', nbdBackingJson(source), path, String(source.sizeBytes)], {
    timeoutMs: 60_000,
  });
  if (r.code !== 0) {
    await rm(path, { force: true });
    throw new HypervisorError('HV_EXPORT', `cannot make an overlay on the NBD export at ${source.socketPath}: ${r.stderr.trim()}`);
  }
  return path;
}

/** `virsh blockjob --info --raw` (` type=Block Copy`, ` cur=N`, ` end=N` lines) → figures; null when there is no job. */
export function parseBlockJobInfo(out: string): BlockCopyProgress | null {
  const cur = /^\s*cur=(\d+)\s*$/m.exec(out);
  const end = /^\s*end=(\d+)\s*$/m.exec(out);
  return cur && end ? { copiedBytes: Number(cur[1]), totalBytes: Number(end[1]) } : null;
}

export type BlockCopyOptions = {
  onProgress?: (p: BlockCopyProgress) => void;
  signal?: AbortSignal;
  /** Copy at most this fast, so that the move spares the storage the recovered VM (and its neighbours) run on. */
  bandwidthMiBps?: number;
};

/** Whether an image reads as zeros everywhere: a copy reusing it skips what the source has unallocated, so stale data would stay. */
async function readsAsZeros(path: string, format: ImageFormat): Promise<boolean> {
  const r = await exec('qemu-img', ['map', '--output=json', '-f', format, path], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new HypervisorError('HV_COMMAND', `qemu-img map ${path} failed: ${r.stderr.trim()}`);
  return (JSON.parse(r.stdout) as { zero: boolean }[]).every((e) => e.zero);
}

type Copier = { child: ChildProcess; exited: Promise<{ code: number; stderr: string }> };

function startCopier(args: string[]): Copier {
  const child = spawn('virsh', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ code: number; stderr: string }>((resolve) => {
    child.once('error', (e) => resolve({ code: -1, stderr: `cannot run virsh: ${e.message}` }));
    child.once('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
  return { child, exited };
}

/**
 * What is left of a copy whose copier is gone: a VM pivoted onto `dest` gets its persistent
 * definition pointed there; a copy still mirroring is aborted (the VM stays on its overlay).
 * Returns what it did, for the janitor's report.
 */
export async function settleBlockCopy(virsh: Virsh, domain: string, target: string, dest: string, format: ImageFormat): Promise<string> {
  const state = await virsh.tryRun(['domstate', domain], /failed to get domain|Domain not found|no domain with matching/i);
  // A domain gone or shut off has no copy job any more (it was transient) and runs on nothing.
  if (state === null || state.trim() !== 'running') return `the VM is ${state?.trim() ?? 'gone'}: no copy of disk ${target} is left`;
  const live = await virsh.run(['dumpxml', domain]);
  const disk = parseDomainXml(live).disks.find((d) => d.target === target);
  if (disk?.source === dest) {
    await setPersistentDiskSource(virsh, domain, target, dest, format);
    return `pointed the persistent definition of disk ${target} at ${dest}, where the VM runs since the pivot`;
  }
  const job = await virsh.tryRun(['blockjob', domain, target, '--info', '--raw'], NO_JOB);
  if (job && parseBlockJobInfo(job)) {
    await virsh.tryRun(['blockjob', domain, target, '--abort'], NO_JOB);
    return `aborted the copy of disk ${target} to ${dest}; the VM stays on ${disk?.source ?? 'its overlay'}`;
  }
  return `no copy of disk ${target} was left running`;
}

/**
 * Moves a running VM's disk off its overlay (and the NBD export behind it) onto a pool
 * image, live: libvirt's block copy mirrors the whole chain into `destPath` and pivots the
 * VM onto it. libvirt 9 refuses a copy of a persistent domain's disk unless the job is
 * transient (`--transient-job`), so the persistent definition is pointed at `destPath`
 * after the pivot, for the next boot. `destPath` is a new, empty image (createVolume) of
 * the disk's size: it is reused, not created, so the pool knows it. The copy is a job in
 * the work dir: if this process dies, the janitor settles it (settleBlockCopy).
 */
export async function blockCopyToPool(
  ctx: ExportContext,
  vm: string,
  target: string,
  destPath: string,
  format: ImageFormat,
  options: BlockCopyOptions = {},
): Promise<void> {
  const { virsh } = ctx;
  const bandwidth = options.bandwidthMiBps;
  if (bandwidth !== undefined && (!Number.isInteger(bandwidth) || bandwidth < 1)) {
    throw new HypervisorError('HV_RESTORE', `a copy's bandwidth is a whole number of MiB/s, not ${bandwidth}`);
  }
  const state = await powerState(virsh, vm);
  if (state !== 'running') throw new HypervisorError('HV_BUSY', `${vm} is ${state}: a live copy needs it running`);
  const live = parseDomainXml(await virsh.run(['dumpxml', vm]));
  const disk = live.disks.find((d) => d.target === target);
  if (!disk) throw new HypervisorError('HV_RESTORE', `${vm} has no disk ${target}`);
  if (!isAbsolute(destPath) || (ctx.isLocal && !existsSync(destPath))) {
    throw new HypervisorError('HV_RESTORE', `there is no image at ${destPath}: create it first (createVolume), of the disk's size`);
  }
  const capacity = Number(/Capacity:\s*(\d+)/.exec(await virsh.run(['domblkinfo', vm, target]))?.[1]);
  if (ctx.isLocal) {
    const size = await imageVirtualSize(destPath);
    if (size !== capacity)
      throw new HypervisorError('HV_RESTORE', `${destPath} holds ${size} bytes; disk ${target} of ${vm} has ${capacity}: a copy needs the same size`);
    const users = await imageUsers(virsh, destPath, canonical);
    if (users.length > 0) throw new HypervisorError('HV_BUSY', `${destPath} is a disk of VM ${users.map((u) => u.vm).join(', ')}`);
    if (!(await readsAsZeros(destPath, format)))
      throw new HypervisorError('HV_RESTORE', `${destPath} is not empty: a copy needs a new image (delete and create it again)`);
  }
  if (options.signal?.aborted) throw new HypervisorError('HV_CANCELLED', `the copy of ${target} of ${vm} was cancelled`);

  const job = await JobDir.createBlockCopy(ctx.workDir, { uri: virsh.uri, domain: live.uuid, target, dest: destPath, format });
  const args = [
    '-q',
    '-c',
    virsh.uri,
    'blockcopy',
    live.uuid,
    target,
    '--dest',
    destPath,
    '--format',
    format,
    '--reuse-external',
    '--transient-job',
    '--wait',
    '--pivot',
  ];
  if (bandwidth !== undefined) args.push('--bandwidth', String(bandwidth));
  let cancelled = false;
  let handedOver = false;
  const abort = () => {
    cancelled = true;
    void virsh.tryRun(['blockjob', live.uuid, target, '--abort'], NO_JOB).catch(() => undefined); // the copier's exit reports what happened
  };
  try {
    const copier = startCopier(args);
    let done = false;
    void copier.exited.then(() => (done = true));
    if (copier.child.pid) await job.update({ copier: { pid: copier.child.pid, pidStart: processStart(copier.child.pid) ?? 0 } });
    options.signal?.addEventListener('abort', abort, { once: true });
    while (!done) {
      await Promise.race([copier.exited, sleep(1_000)]);
      if (done || !options.onProgress) continue;
      const info = await virsh.tryRun(['blockjob', live.uuid, target, '--info', '--raw'], NO_JOB);
      const p = info ? parseBlockJobInfo(info) : null;
      if (p) options.onProgress(p);
    }
    const r = await copier.exited;
    const now = parseDomainXml(await virsh.run(['dumpxml', live.uuid])).disks.find((d) => d.target === target);
    if (now?.source !== destPath) {
      // No pivot (failed, or cancelled): libvirt's job may be left behind; the VM stays on its overlay.
      await virsh.tryRun(['blockjob', live.uuid, target, '--abort'], NO_JOB);
      if (cancelled) throw new HypervisorError('HV_CANCELLED', `the copy of ${target} of ${vm} was cancelled; the VM stays on ${disk.source}`);
      throw new HypervisorError(
        'HV_COMMAND',
        `the copy of ${target} of ${vm} to ${destPath} failed: ${r.stderr.trim() || `the disk is on ${now?.source ?? 'nothing'}`}`,
      );
    }
    options.onProgress?.({ copiedBytes: capacity, totalBytes: capacity });
    try {
      await setPersistentDiskSource(virsh, live.uuid, target, destPath, format);
    } catch (e) {
      // The VM runs on the pool image but would boot from the overlay: the janitor tries again (settleBlockCopy).
      await job.disown();
      handedOver = true;
      throw e;
    }
  } finally {
    options.signal?.removeEventListener('abort', abort);
    if (!handedOver) await job.remove();
  }
}
