import { statfs } from 'node:fs/promises';
import { HypervisorError } from '../errors.js';
import { runJanitor } from '../janitor.js';
import type {
  AttachDiskRequest,
  BackupRequest,
  BackupView,
  DirtyExtent,
  HostInfo,
  HypervisorConnector,
  ImageExport,
  ImageExportOptions,
  ImageFormat,
  NbdOverlaySpec,
  PowerState,
  RestoredVmSpec,
  RestoreTarget,
  StoragePool,
  VmDetails,
  VmSummary,
} from '../types.js';
import { DEFAULT_WORK_DIR } from '../work-dir.js';
import { CHECKPOINT_PREFIX } from '../cbt-plan.js';
import { openRunningBackup, type NbdTransport } from './backup-running.js';
import { openStoppedBackup } from './backup-stopped.js';
import { dirtyExtentsSince } from './dirty-extents.js';
import { attachDisk, replaceDiskSource } from './disk-config.js';
import { openImageExport } from './image-export.js';
import { canonical } from './image-users.js';
import { blockCopyToPool, createNbdOverlay, type BlockCopyOptions } from './instant.js';
import { describeDomain, getVm, listHosts, listVms } from './inventory.js';
import { createVolume, deleteVolume, listPools } from './pools.js';
import { checkpointsOf, dropAllCheckpoints } from './restore-checkpoints.js';
import { defineRestoredVm, destroyVm, domainName, powerState, startVm, undefineVm } from './restored-vm.js';
import { Virsh } from './virsh.js';

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

  async vmExists(nameOrUuid: string): Promise<boolean> {
    return (await domainName(this.virsh, nameOrUuid)) !== null;
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
    const targets: RestoreTarget[] = (await this.listPools())
      .filter((p): p is StoragePool & { path: string } => p.active && p.path !== null)
      .map((p) => ({ kind: 'storage-pool', name: p.name, path: p.path, availableBytes: p.availableBytes }));
    if (targets.length === 0 && this.isLocal) {
      // No pool and no default image directory: there is simply no target to offer.
      const s = await statfs('/var/lib/libvirt/images').catch(() => null);
      if (s) targets.push({ kind: 'directory', name: 'default-images', path: '/var/lib/libvirt/images', availableBytes: s.bavail * s.bsize });
    }
    return targets;
  }

  private get ctx() {
    return { virsh: this.virsh, workDir: this.workDir, isLocal: this.isLocal };
  }

  /** Storage pools, refreshed. */
  listPools(): Promise<StoragePool[]> {
    return listPools(this.virsh);
  }

  createVolume(pool: string, name: string, capacityBytes: number, format: ImageFormat, neededBytes?: number): Promise<{ path: string }> {
    return createVolume(this.virsh, pool, name, capacityBytes, format, neededBytes);
  }

  deleteVolume(pool: string, name: string): Promise<void> {
    return deleteVolume(this.virsh, pool, name, this.isLocal ? canonical : undefined);
  }

  /** An image served over NBD for a restore to write (or to read its bitmap); refused while a running VM uses it. */
  openImageExport(path: string, format: ImageFormat, options?: ImageExportOptions): Promise<ImageExport> {
    return openImageExport(this.ctx, path, format, options);
  }

  checkpointsOf(vm: string): Promise<string[]> {
    return checkpointsOf(this.virsh, vm);
  }

  dirtyExtentsSince(vm: string, target: string, checkpoint: string): Promise<DirtyExtent[]> {
    return dirtyExtentsSince(this.ctx, vm, target, checkpoint);
  }

  dropAllCheckpoints(vm: string, options?: { metadataOnly?: boolean }): Promise<string[]> {
    return dropAllCheckpoints(this.virsh, vm, options);
  }

  defineRestoredVm(spec: RestoredVmSpec): Promise<VmSummary> {
    return defineRestoredVm(this.ctx, spec);
  }

  undefineVm(name: string): Promise<void> {
    return undefineVm(this.ctx, name);
  }

  startVm(name: string): Promise<void> {
    return startVm(this.virsh, name);
  }

  destroyVm(name: string): Promise<void> {
    return destroyVm(this.virsh, name);
  }

  powerState(name: string): Promise<PowerState> {
    return powerState(this.virsh, name);
  }

  replaceDiskSource(vm: string, target: string, path: string, format: ImageFormat): Promise<void> {
    return replaceDiskSource(this.ctx, vm, target, path, format);
  }

  attachDisk(vm: string, disk: AttachDiskRequest): Promise<{ target: string }> {
    return attachDisk(this.ctx, vm, disk);
  }

  createNbdOverlay(dir: string, file: string, source: NbdOverlaySpec): Promise<string> {
    return createNbdOverlay(this.ctx, dir, file, source);
  }

  blockCopyToPool(vm: string, target: string, destPath: string, format: ImageFormat, options?: BlockCopyOptions): Promise<void> {
    return blockCopyToPool(this.ctx, vm, target, destPath, format, options);
  }
}

/** The host of a remote libvirt URI (`qemu+ssh://root@host/system` → `host`), or null when local. */
export function remoteHost(uri: string): string | null {
  const m = /^[a-z0-9]+\+(?:ssh|tcp|tls|libssh|libssh2):\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/?]+)/i.exec(uri);
  if (m?.[1]) return m[1].replace(/^\[|\]$/g, '');
  const plain = /^[a-z0-9]+:\/\/(?:[^@/]*@)?([^:/?]+)/i.exec(uri);
  return plain?.[1] ? plain[1] : null;
}
