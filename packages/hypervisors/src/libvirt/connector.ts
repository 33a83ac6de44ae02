import { statfs } from 'node:fs/promises';
import { HypervisorError } from '../errors.js';
import { runJanitor } from '../janitor.js';
import type { BackupRequest, BackupView, HostInfo, HypervisorConnector, RestoreTarget, VmDetails, VmSummary } from '../types.js';
import { DEFAULT_WORK_DIR } from '../work-dir.js';
import { CHECKPOINT_PREFIX } from '../cbt-plan.js';
import { openRunningBackup, type NbdTransport } from './backup-running.js';
import { openStoppedBackup } from './backup-stopped.js';
import { describeDomain, getVm, listHosts, listVms } from './inventory.js';
import { Virsh } from './virsh.js';
import { node, parseXml, text } from './xml.js';

export type LibvirtConnectorOptions = {
  /** e.g. `qemu:///system`, `qemu+ssh://root@host/system`. */
  uri: string;
  /** Where job state, scratch files and sockets live. */
  workDir?: string;
  /**
   * How to reach libvirt's NBD server: a unix socket (default for local URIs) or TCP
   * (default for remote URIs, on the URI's host).
   */
  nbd?: NbdTransport;
};

/** KVM/QEMU through libvirt. */
export class LibvirtConnector implements HypervisorConnector {
  readonly kind = 'libvirt';
  readonly virsh: Virsh;
  readonly workDir: string;
  readonly nbd: NbdTransport;

  private constructor(options: LibvirtConnectorOptions) {
    this.virsh = new Virsh(options.uri);
    this.workDir = options.workDir ?? DEFAULT_WORK_DIR;
    const host = remoteHost(options.uri);
    this.nbd = options.nbd ?? (host ? { transport: 'tcp', host } : { transport: 'unix' });
  }

  /** Connects (checks that libvirt answers) and runs the janitor over leftovers of dead movers. */
  static async connect(options: LibvirtConnectorOptions): Promise<LibvirtConnector> {
    const c = new LibvirtConnector(options);
    await c.virsh.run(['uri']);
    await runJanitor({ workDir: c.workDir });
    return c;
  }

  get isLocal(): boolean {
    return remoteHost(this.virsh.uri) === null;
  }

  listHosts(): Promise<HostInfo[]> {
    return listHosts(this.virsh);
  }

  listVms(): Promise<VmSummary[]> {
    return listVms(this.virsh);
  }

  getVm(nameOrUuid: string): Promise<VmDetails> {
    return getVm(this.virsh, nameOrUuid);
  }

  async openBackup(request: BackupRequest): Promise<BackupView> {
    const dom = await describeDomain(this.virsh, request.vm);
    // Sortable, unique per VM, and recognisably ours.
    const checkpoint = `${CHECKPOINT_PREFIX}${new Date().toISOString().replace(/[-:.]/g, '').replace('T', '-').replace('Z', '')}`;
    const ctx = { virsh: this.virsh, workDir: this.workDir, dom, request, checkpoint, nbd: this.nbd, remote: !this.isLocal };
    if (dom.power === 'running') return openRunningBackup(ctx);
    if (dom.power === 'stopped') {
      if (!this.isLocal) {
        throw new HypervisorError(
          'HV_UNSUPPORTED',
          `${dom.info.name} is powered off on a remote host: its images are exported by qemu-nbd there, so run a mover on that host`,
        );
      }
      return openStoppedBackup(ctx);
    }
    throw new HypervisorError('HV_BUSY', `${dom.info.name} is ${dom.power}; back it up when it runs or is shut off`);
  }

  /** libvirt storage pools (directory-like) a restored disk can be written to. */
  async restoreTargets(): Promise<RestoreTarget[]> {
    const names = (await this.virsh.run(['pool-list', '--all', '--name']))
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
    const targets: RestoreTarget[] = [];
    for (const name of names) {
      const pool = node(parseXml(await this.virsh.run(['pool-dumpxml', name]), 'pool XML').pool);
      const path = text(node(pool.target).path);
      if (!path) continue;
      const available = Number(text(pool.available));
      targets.push({ kind: 'storage-pool', name, path, availableBytes: Number.isFinite(available) ? available : null });
    }
    if (targets.length === 0 && this.isLocal) {
      // No pool and no default image directory: there is simply no target to offer.
      const s = await statfs('/var/lib/libvirt/images').catch(() => null);
      if (s) targets.push({ kind: 'directory', name: 'default-images', path: '/var/lib/libvirt/images', availableBytes: s.bavail * s.bsize });
    }
    return targets;
  }
}

/** The host of a remote libvirt URI (`qemu+ssh://root@host/system` → `host`), or null when local. */
export function remoteHost(uri: string): string | null {
  const m = /^[a-z0-9]+\+(?:ssh|tcp|tls|libssh|libssh2):\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/?]+)/i.exec(uri);
  if (m?.[1]) return m[1].replace(/^\[|\]$/g, '');
  const plain = /^[a-z0-9]+:\/\/(?:[^@/]*@)?([^:/?]+)/i.exec(uri);
  return plain?.[1] ? plain[1] : null;
}
