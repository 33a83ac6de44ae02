import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NbdDiskReader } from '@strongbox/nbd';
import { HypervisorError } from '../errors.js';
import type { BackupDisk, BackupOutcome, BackupView, SessionLogEntry } from '../types.js';
import { JobDir } from '../work-dir.js';
import type { ViewContext } from './backup-running.js';
import { addImageBitmap, imageBitmaps, removeImageBitmap } from './bitmaps.js';
import { applyRepairs, planForDomain } from './cbt-state.js';
import { checkpointXml, deleteCheckpoint, type CheckpointNote } from './checkpoints.js';
import { recordOf, startQemuNbd, stopQemuNbd } from './qemu-nbd.js';
import { escapeXml } from './xml.js';

/**
 * A stopped VM: nothing writes its disks, so the images themselves are the consistent
 * view. A new bitmap starts the next interval; qemu-nbd exports each image with the
 * base bitmap as its dirty-bitmap context. libvirt cannot create checkpoints of an
 * inactive domain, so the metadata is redefined to match the bitmaps we add.
 */
export async function openStoppedBackup(ctx: ViewContext): Promise<BackupView> {
  const { virsh, dom, request, checkpoint } = ctx;
  const domain = dom.info.uuid;
  const log: SessionLogEntry[] = [];
  for (const d of dom.info.disks) {
    if (d.sourceType !== 'file')
      throw new HypervisorError(
        'HV_UNSUPPORTED',
        `disk ${d.target} of ${dom.info.name} is a ${d.sourceType} disk; only file disks are exported from a stopped VM`,
      );
  }
  const plan = await planForDomain(virsh, dom, request.sinceCheckpoint, request.readWhole);
  log.push(...plan.log);
  await applyRepairs(virsh, dom, plan, log);
  const job = await JobDir.create(ctx.workDir, { uri: virsh.uri, domain, kind: 'stopped', checkpoint, base: plan.base }, null);
  const servers: ChildProcess[] = [];
  let released = false;
  const release = async (outcome: BackupOutcome) => {
    if (released) return;
    released = true;
    try {
      if (outcome === 'success') await job.update({ phase: 'committed' });
      await Promise.all(servers.map(stopQemuNbd));
      for (const drop of outcome === 'success' ? plan.supersedes : [checkpoint]) {
        await deleteCheckpoint(virsh, domain, drop, true);
        for (const d of dom.info.disks.filter((d) => plan.checkpointDisks.includes(d.target))) {
          if ((await imageBitmaps(d.source)).some((b) => b.name === drop)) await removeImageBitmap(d.source, drop);
        }
      }
    } finally {
      // The job's files go whatever failed above: a checkpoint left over is repaired by the next run's plan.
      await job.remove();
    }
  };
  try {
    const note: CheckpointNote = { strongbox: 1, vmUuid: domain, disks: {} };
    const added: { path: string; bitmap: string }[] = [];
    for (const d of dom.info.disks.filter((d) => plan.checkpointDisks.includes(d.target))) {
      note.disks[d.target] = { sizeBytes: dom.sizes.get(d.target) ?? 0, path: d.source };
      added.push({ path: d.source, bitmap: checkpoint });
      await job.update({ addedBitmaps: added });
      await addImageBitmap(d.source, checkpoint);
    }
    const inactive = await virsh.run(['dumpxml', '--inactive', domain]);
    const parent = plan.base ? `<parent><name>${escapeXml(plan.base)}</name></parent>` : '';
    const extra = `${parent}<creationTime>${Math.floor(Date.now() / 1000)}</creationTime>`;
    // Redefinition wants the domain definition inside the checkpoint.
    const xml = checkpointXml(
      checkpoint,
      note,
      dom.info.disks.map((d) => d.target),
      extra,
    ).replace('</domaincheckpoint>', `${inactive}</domaincheckpoint>`);
    await writeFile(join(job.path, 'checkpoint.xml'), xml, { mode: 0o600 });
    await virsh.run(['checkpoint-create', domain, join(job.path, 'checkpoint.xml'), '--redefine']);
    await job.update({ phase: 'exporting' });

    const disks: BackupDisk[] = [];
    const sockets = new Map<string, string>();
    for (const d of dom.info.disks) {
      const mode = plan.diskModes[d.target] ?? 'allocated';
      const socket = join(job.path, `${d.target}.sock`);
      const args = ['--read-only', '--persistent', '--shared=8', '--format', d.format, '--socket', socket];
      if (mode === 'changed' && plan.base) args.push('--bitmap', plan.base);
      args.push(d.source);
      const child = await startQemuNbd(args, socket);
      servers.push(child);
      await job.update({ qemuNbd: recordOf(servers) });
      sockets.set(d.target, socket);
      disks.push({ target: d.target, sizeBytes: dom.sizes.get(d.target) ?? 0, format: d.format, mode });
    }
    log.push({ level: 'info', code: 'POWERED_OFF', message: `${dom.info.name} is powered off: its disks are read as they are` });
    return {
      vm: { name: dom.info.name, uuid: domain, power: dom.power },
      configXml: dom.xml,
      checkpoint,
      base: plan.base,
      consistency: 'powered-off',
      disks,
      log,
      committed: () => job.update({ phase: 'committed' }),
      release,
      openReader: async (target) => {
        const disk = disks.find((d) => d.target === target);
        const socket = sockets.get(target);
        if (!disk || !socket) throw new HypervisorError('HV_EXPORT', `${dom.info.name} has no exported disk ${target}`);
        const endpoint = { kind: 'unix' as const, path: socket };
        const connections = request.connections ?? 4;
        if (disk.mode === 'changed' && plan.base) {
          return NbdDiskReader.open({ endpoint, exportName: '', mode: 'changed', dirtyContext: `qemu:dirty-bitmap:${plan.base}`, connections });
        }
        return NbdDiskReader.open({ endpoint, exportName: '', mode: 'allocated', connections });
      },
    };
  } catch (e) {
    await release('failure').catch((cleanup: Error) => {
      throw new HypervisorError('HV_COMMAND', `${(e as Error).message}; cleaning up also failed: ${cleanup.message}`, { cause: e });
    });
    throw e;
  }
}
