import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { NbdDiskReader } from '@strongbox/nbd';
import { HypervisorError } from '../errors.js';
import type { BackupDisk, BackupOutcome, BackupRequest, BackupView, SessionLogEntry } from '../types.js';
import { JobDir } from '../work-dir.js';
import { applyRepairs, planForDomain } from './cbt-state.js';
import { checkpointXml, dropCheckpointAnyState, type CheckpointNote } from './checkpoints.js';
import type { DomainSnapshot } from './inventory.js';
import { quiesce } from './quiesce.js';
import type { Virsh } from './virsh.js';
import { escapeXml, list, node, parseXml } from './xml.js';

/** How libvirt's NBD server is reached: a unix socket in the job dir (local), or TCP (remote hosts). */
export type NbdTransport =
  | { transport: 'unix' }
  | {
      transport: 'tcp';
      host: string;
      /**
       * Where QEMU writes scratch files on a remote host (libvirt 9 insists on one; the
       * job dir is not there). Default `/var/lib/libvirt/qemu`, QEMU's own directory.
       */
      remoteScratchDir?: string;
    };

export type ViewContext = {
  virsh: Virsh;
  workDir: string;
  dom: DomainSnapshot;
  request: BackupRequest;
  checkpoint: string;
  nbd: NbdTransport;
  /** The libvirt host is another machine: paths in the job dir mean nothing there. */
  remote: boolean;
};

/** An ephemeral port for the export; libvirt refuses one in use and we try another. */
const pickPort = () => 20000 + Math.floor(Math.random() * 20000);

/**
 * A running VM: repair the chain, freeze (when the guest agent allows), start a pull-mode
 * backup job that creates the new checkpoint and exports every disk over NBD, thaw.
 */
export async function openRunningBackup(ctx: ViewContext): Promise<BackupView> {
  const { virsh, dom, request, checkpoint } = ctx;
  const domain = dom.info.uuid;
  const log: SessionLogEntry[] = [];
  const plan = await planForDomain(virsh, dom, request.sinceCheckpoint, request.readWhole);
  log.push(...plan.log);
  await applyRepairs(virsh, dom, plan, log);
  const tcp = ctx.nbd.transport === 'tcp' ? ctx.nbd : null;
  let port = pickPort();
  const job = await JobDir.create(
    ctx.workDir,
    { uri: virsh.uri, domain, kind: 'running', checkpoint, base: plan.base, exportMarker: tcp ? `port='${port}'` : undefined },
    ctx.remote ? null : dom.info.qemuOwner,
  );
  const marker = () => job.current.exportMarker ?? job.path;
  let released = false;
  const release = async (outcome: BackupOutcome) => {
    if (released) return;
    released = true;
    if (outcome === 'success') await job.update({ phase: 'committed' });
    try {
      await endJob(virsh, domain, job.path, marker());
    } catch (e) {
      // libvirt's job may still run: left to the janitor, which cleans jobs no live process owns.
      await job.disown();
      throw e;
    }
    try {
      // The domain may have stopped under the backup (a crash, a power-off): drop checkpoints as for a stopped one then.
      for (const name of outcome === 'success' ? plan.supersedes : [checkpoint]) await dropCheckpointAnyState(virsh, domain, name);
    } finally {
      // The job has ended: its files go, even if a checkpoint could not (the next run's plan repairs that).
      await job.remove();
    }
  };
  try {
    const note: CheckpointNote = { strongbox: 1, vmUuid: domain, disks: {} };
    for (const d of dom.info.disks) {
      if (plan.checkpointDisks.includes(d.target)) note.disks[d.target] = { sizeBytes: dom.sizes.get(d.target) ?? 0, path: d.source };
    }
    const targets = dom.info.disks.map((d) => d.target);
    const socket = join(job.path, 'nbd.sock');
    const diskXml = dom.info.disks
      .map((d) => {
        const mode = plan.diskModes[d.target] === 'changed' ? 'incremental' : 'full';
        const incremental = plan.base && mode === 'incremental' ? ` incremental='${escapeXml(plan.base)}'` : '';
        const scratchPath = ctx.remote
          ? join(tcp?.remoteScratchDir ?? '/var/lib/libvirt/qemu', `${basename(job.path)}-scratch-${d.target}.qcow2`)
          : join(job.path, `scratch-${d.target}.qcow2`);
        const scratch = `<scratch file='${escapeXml(scratchPath)}'/>`;
        return `<disk name='${escapeXml(d.target)}' backup='yes' type='file' backupmode='${mode}'${incremental}>${scratch}</disk>`;
      })
      .join('');
    const server = () =>
      tcp ? `<server transport='tcp' name='${escapeXml(tcp.host)}' port='${port}'/>` : `<server transport='unix' socket='${escapeXml(socket)}'/>`;
    const backupXml = () =>
      `<domainbackup mode='pull'>${plan.base ? `<incremental>${escapeXml(plan.base)}</incremental>` : ''}${server()}<disks>${diskXml}</disks></domainbackup>`;
    await writeXml(job.path, 'backup.xml', backupXml());
    await writeXml(job.path, 'checkpoint.xml', checkpointXml(checkpoint, note, targets));
    const q = await quiesce(
      virsh,
      domain,
      { enabled: request.quiesce ?? true, require: request.requireQuiesce ?? false, hasChannel: dom.info.hasGuestAgentChannel },
      log,
    );
    await job.update({ phase: 'exporting' });
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await virsh.run(['backup-begin', domain, join(job.path, 'backup.xml'), join(job.path, 'checkpoint.xml')]);
          break;
        } catch (e) {
          if (!tcp || attempt >= 5 || !/in use|bind/i.test((e as Error).message)) throw e;
          port = pickPort();
          await job.update({ exportMarker: `port='${port}'` });
          await writeXml(job.path, 'backup.xml', backupXml());
        }
      }
    } finally {
      await q.thaw();
    }
    const exports = parseBackupExports(await virsh.run(['backup-dumpxml', domain]));
    const disks: BackupDisk[] = dom.info.disks.map((d) => ({
      target: d.target,
      sizeBytes: dom.sizes.get(d.target) ?? 0,
      format: d.format,
      mode: plan.diskModes[d.target] ?? 'allocated',
    }));
    return {
      vm: { name: dom.info.name, uuid: domain, power: dom.power },
      configXml: dom.xml,
      checkpoint,
      base: plan.base,
      consistency: q.consistency,
      disks,
      log,
      committed: () => job.update({ phase: 'committed' }),
      release,
      openReader: async (target) => {
        const disk = disks.find((d) => d.target === target);
        const exp = exports.get(target);
        if (!disk || !exp) throw new HypervisorError('HV_EXPORT', `${dom.info.name} has no exported disk ${target}`);
        const endpoint = tcp ? { kind: 'tcp' as const, host: tcp.host, port } : { kind: 'unix' as const, path: socket };
        const connections = request.connections ?? 4;
        if (disk.mode === 'changed') {
          if (!exp.bitmap) throw new HypervisorError('HV_EXPORT', `libvirt exported ${target} without its dirty bitmap`);
          return NbdDiskReader.open({ endpoint, exportName: exp.name, mode: 'changed', dirtyContext: `qemu:dirty-bitmap:${exp.bitmap}`, connections });
        }
        return NbdDiskReader.open({ endpoint, exportName: exp.name, mode: 'allocated', connections });
      },
    };
  } catch (e) {
    await release('failure').catch((cleanup: Error) => {
      throw new HypervisorError('HV_COMMAND', `${(e as Error).message}; cleaning up also failed: ${cleanup.message}`, { cause: e });
    });
    throw e;
  }
}

async function writeXml(dir: string, name: string, xml: string): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  // Read by libvirtd (root), not by QEMU: the job directory's owner may be QEMU's user.
  await writeFile(join(dir, name), xml, { mode: 0o600 });
}

/** Export name and dirty-bitmap name per disk, from `virsh backup-dumpxml`. */
export function parseBackupExports(xml: string): Map<string, { name: string; bitmap: string | null }> {
  const backup = node(parseXml(xml, 'backup XML').domainbackup);
  const out = new Map<string, { name: string; bitmap: string | null }>();
  for (const d of list(node(backup.disks).disk)) {
    if (d['@backup'] === 'no') continue;
    const target = String(d['@name']);
    const incremental = d['@backupmode'] === 'incremental';
    const bitmap = typeof d['@exportbitmap'] === 'string' ? d['@exportbitmap'] : incremental ? `backup-${target}` : null;
    out.set(target, { name: String(d['@exportname'] ?? target), bitmap: incremental ? bitmap : null });
  }
  return out;
}

/**
 * Aborts the domain's backup job if it is ours (its socket lives in our job dir, or it
 * serves on the port we recorded), then removes our scratch files.
 */
export async function endJob(virsh: Virsh, domain: string, jobPath: string, marker = jobPath): Promise<void> {
  const current = await virsh.tryRun(['backup-dumpxml', domain], /no domain backup job|not found|not running|no job/i);
  if (current && current.includes(marker)) {
    await virsh.tryRun(['domjobabort', domain], /no job is active/i);
  }
  await rm(jobPath, { recursive: true, force: true });
}
