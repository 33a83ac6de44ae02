import { rm } from 'node:fs/promises';
import { HypervisorError } from './errors.js';
import { endJob } from './libvirt/backup-running.js';
import { imageBitmaps, removeImageBitmap } from './libvirt/bitmaps.js';
import { deleteCheckpoint, dropCheckpointAnyState } from './libvirt/checkpoints.js';
import { Virsh } from './libvirt/virsh.js';
import { commandLine, isSameProcessAlive, processesWhere } from '@strongbox/config';
import { settleBlockCopy } from './libvirt/instant.js';
import { deleteVolume } from './libvirt/pools.js';
import { DEFAULT_WORK_DIR, findStaleJobs, type BackupJobState, type BlockCopyJobState, type ExportJobState, type JobState } from './work-dir.js';

export type JanitorAction = { job: string; domain: string | null; did: string[] };

/** qemu-nbd processes serving from a job dir, recorded or not (a mover may die between spawn and record). */
function qemuNbdServing(path: string): number[] {
  return processesWhere((cmd) => /(^|\/)qemu-nbd /.test(cmd) && cmd.includes(`${path}/`));
}

async function dropCheckpoint(virsh: Virsh, state: BackupJobState, did: string[]): Promise<void> {
  await dropCheckpointAnyState(virsh, state.domain, state.checkpoint);
  did.push(`dropped unfinished checkpoint ${state.checkpoint}`);
}

async function cleanJob(path: string, state: JobState, did: string[]): Promise<void> {
  const virsh = new Virsh(state.uri);
  const recorded = state.qemuNbd.filter((p) => isSameProcessAlive(p.pid, p.pidStart)).map((p) => p.pid);
  for (const pid of new Set([...recorded.filter((pid) => commandLine(pid).includes(path)), ...qemuNbdServing(path)])) {
    process.kill(pid, 'SIGKILL');
    did.push(`killed qemu-nbd ${pid}`);
  }
  if (state.kind === 'export') {
    await cleanExport(virsh, state, did);
    return;
  }
  if (state.kind === 'block-copy') {
    await cleanBlockCopy(virsh, state, did);
    return;
  }
  if (state.kind === 'running') {
    await endJob(virsh, state.domain, path, state.exportMarker ?? path);
    did.push('ended the backup job if it was still running');
  }
  if (state.phase === 'committed') return;
  if (state.kind === 'running') {
    await dropCheckpoint(virsh, state, did);
    return;
  }
  await deleteCheckpoint(virsh, state.domain, state.checkpoint, true);
  for (const b of state.addedBitmaps) {
    if ((await imageBitmaps(b.path)).some((x) => x.name === b.bitmap)) {
      await removeImageBitmap(b.path, b.bitmap);
      did.push(`removed bitmap ${b.bitmap} from ${b.path}`);
    }
  }
}

/** A restore's export: its qemu-nbd is gone by now; the volume it was writing goes too, unless a VM took it meanwhile. */
async function cleanExport(virsh: Virsh, state: ExportJobState, did: string[]): Promise<void> {
  if (!state.ownedVolume) return;
  const { pool, name } = state.ownedVolume;
  try {
    await deleteVolume(virsh, pool, name);
    did.push(`deleted volume ${name} of pool ${pool}, which a restore had not finished writing`);
  } catch (e) {
    if (!(e instanceof HypervisorError && e.code === 'HV_BUSY')) throw e;
    did.push(`kept volume ${name} of pool ${pool}: ${e.message}`);
  }
}

async function cleanBlockCopy(virsh: Virsh, state: BlockCopyJobState, did: string[]): Promise<void> {
  if (state.copier && isSameProcessAlive(state.copier.pid, state.copier.pidStart) && commandLine(state.copier.pid).includes('blockcopy')) {
    process.kill(state.copier.pid, 'SIGKILL');
    did.push(`stopped virsh blockcopy ${state.copier.pid}`);
  }
  did.push(await settleBlockCopy(virsh, state.domain, state.target, state.dest, state.format));
}

/**
 * Cleans up after movers that died mid-backup or mid-restore: for each job directory whose
 * owner process is gone, ends its libvirt backup job, kills its qemu-nbd, drops the
 * checkpoint it had started (the restore point was never written) or deletes the volume
 * its restore was writing, and removes its files.
 */
export async function runJanitor(options: { workDir?: string } = {}): Promise<JanitorAction[]> {
  const actions: JanitorAction[] = [];
  for (const stale of await findStaleJobs(options.workDir ?? DEFAULT_WORK_DIR)) {
    const did: string[] = [];
    if (stale.state) {
      try {
        await cleanJob(stale.path, stale.state, did);
      } catch (e) {
        // The domain was removed meanwhile: nothing of it is left to clean but our files.
        if (!(e instanceof HypervisorError && e.code === 'HV_VM_NOT_FOUND')) throw e;
        did.push('the domain no longer exists');
      }
    }
    await rm(stale.path, { recursive: true, force: true });
    await rm(`${stale.path}.state.json`, { force: true });
    did.push('removed scratch files');
    actions.push({ job: stale.path, domain: stale.state && 'domain' in stale.state ? stale.state.domain : null, did });
  }
  return actions;
}
