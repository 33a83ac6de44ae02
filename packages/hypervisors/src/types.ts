import type { DiskReader } from '@strongbox/core';
import type { NbdEndpoint } from '@strongbox/nbd';

export type PowerState = 'running' | 'paused' | 'stopped' | 'other';

export type HostInfo = { name: string; hypervisor: string; version: string; cpus: number; memoryBytes: number };

export type VmSummary = { name: string; uuid: string; power: PowerState };

export type VmDisk = {
  target: string;
  path: string;
  format: string;
  sizeBytes: number;
  /** Whether this disk can carry changed-block tracking (qcow2 persistent bitmaps). */
  cbtCapable: boolean;
};

export type VmDetails = VmSummary & { disks: VmDisk[]; configXml: string; guestAgent: boolean };

export type SessionLogLevel = 'info' | 'warning' | 'error';
/** A line for the user-facing session log. */
export type SessionLogEntry = { level: SessionLogLevel; code: string; message: string };

export type BackupRequest = {
  vm: string;
  /** The checkpoint of this VM's last successful restore point, or null for a full. */
  sinceCheckpoint: string | null;
  /** An active full: read every disk whole, keeping `sinceCheckpoint` until the new point is committed. */
  readWhole?: boolean;
  /** Quiesce through qemu-guest-agent when present (default true). */
  quiesce?: boolean;
  /** "Require successful processing": fail instead of falling back to crash-consistent. */
  requireQuiesce?: boolean;
  /** NBD connections per disk reader (default 4). */
  connections?: number;
};

export type BackupDisk = {
  target: string;
  sizeBytes: number;
  format: string;
  /** `changed`: only what changed since `base` is listed; `allocated`: the whole disk is read. */
  mode: 'allocated' | 'changed';
};

export type BackupOutcome = 'success' | 'failure';

/** A consistent point-in-time view of a VM's disks, held until released. */
export type BackupView = {
  readonly vm: VmSummary;
  readonly configXml: string;
  /** Name of the checkpoint this view ends at: record it in the restore point. */
  readonly checkpoint: string;
  /** Checkpoint the changes are relative to, or null when every disk is read whole. */
  readonly base: string | null;
  readonly consistency: 'application' | 'crash' | 'powered-off';
  readonly disks: readonly BackupDisk[];
  readonly log: readonly SessionLogEntry[];
  openReader(target: string): Promise<DiskReader>;
  /**
   * The restore point of this view is committed: from now on the new checkpoint is the
   * chain's, and a crash before `release` must keep it (the janitor then only ends the job).
   */
  committed(): Promise<void>;
  /**
   * Ends the job, stops exports, removes scratch files. On `success` the new checkpoint
   * becomes the chain's only point; on `failure` it is dropped and the old one stays.
   */
  release(outcome: BackupOutcome): Promise<void>;
};

export type RestoreTarget = { kind: 'storage-pool' | 'directory'; name: string; path: string; availableBytes: number | null };

export type ImageFormat = 'qcow2' | 'raw';

/** A libvirt storage pool, refreshed when listed. `path` is null for pools without a local target (rbd, iscsi-direct). */
export type StoragePool = { name: string; type: string; path: string | null; capacityBytes: number; availableBytes: number; active: boolean };

export type ImageExportOptions = {
  /** Also export this persistent qcow2 bitmap as the meta context `qemu:dirty-bitmap:<name>`. */
  bitmap?: string;
  /** Refuse writes (default false: a restore writes through this export). */
  readOnly?: boolean;
  /** Clients that may be connected at once (default 4; qemu-nbd then announces multi-conn). */
  connections?: number;
  /** A volume this restore created for the image: if the process dies with the export open, the janitor deletes it. */
  ownedVolume?: { pool: string; name: string };
};

/** An image served by qemu-nbd on a unix socket until closed. */
export type ImageExport = {
  readonly endpoint: NbdEndpoint;
  readonly exportName: string;
  readonly sizeBytes: number;
  /** Stops the server (qemu-nbd flushes and closes the image) and removes its socket. Idempotent. */
  close(): Promise<void>;
};

/** Consecutive ranges covering a disk, each changed (`dirty`) or not since a checkpoint. */
export type DirtyExtent = { offset: number; length: number; dirty: boolean };

export type RestoredDisk = { path: string; format: ImageFormat };

export type RestoredVmSpec = {
  /** The domain XML saved in the restore point. */
  configXml: string;
  name: string;
  /** Restored disks by target (`vda`); disks of the point not listed are left out of the new VM. */
  disks: Map<string, RestoredDisk>;
  /** `disconnected`: every interface is defined with its link down (Veeam's "restore with network disconnected"). */
  networks: 'connected' | 'disconnected';
  /**
   * Keep the UUID, MAC addresses, fixed VNC ports and tap names of the point: for a VM
   * that no longer exists. Otherwise the new VM gets a new UUID, and libvirt new MACs.
   */
  keepIdentity: boolean;
  /** Where the new VM's unix sockets (serial consoles, channels) go; default under /var/lib/libvirt/strongbox/vms/<name>. */
  socketDir?: string;
};

export type AttachDiskRequest = { path: string; format: ImageFormat; target?: string };

export type BlockCopyProgress = { copiedBytes: number; totalBytes: number };

export type NbdOverlaySpec = {
  /** The NBD server's unix socket, which the VM's QEMU connects to. */
  socketPath: string;
  exportName: string;
  sizeBytes: number;
};

/** What every hypervisor connector offers the mover. */
export type HypervisorConnector = {
  readonly kind: string;
  listHosts(): Promise<HostInfo[]>;
  listVms(): Promise<VmSummary[]>;
  getVm(nameOrUuid: string): Promise<VmDetails>;
  vmExists(nameOrUuid: string): Promise<boolean>;
  openBackup(request: BackupRequest): Promise<BackupView>;
  restoreTargets(): Promise<RestoreTarget[]>;

  // Restores: storage.
  listPools(): Promise<StoragePool[]>;
  /**
   * A new sparse image. `neededBytes`: what the restore will write (the point's data, not
   * the virtual size); a pool with less available is refused. Default: the whole capacity.
   */
  createVolume(pool: string, name: string, capacityBytes: number, format: ImageFormat, neededBytes?: number): Promise<{ path: string }>;
  deleteVolume(pool: string, name: string): Promise<void>;
  openImageExport(path: string, format: ImageFormat, options?: ImageExportOptions): Promise<ImageExport>;

  // Restores: quick rollback of a powered-off VM.
  checkpointsOf(vm: string): Promise<string[]>;
  dirtyExtentsSince(vm: string, target: string, checkpoint: string): Promise<DirtyExtent[]>;
  dropAllCheckpoints(vm: string, options?: { metadataOnly?: boolean }): Promise<string[]>;

  // Restores: VMs.
  defineRestoredVm(spec: RestoredVmSpec): Promise<VmSummary>;
  undefineVm(name: string): Promise<void>;
  startVm(name: string): Promise<void>;
  destroyVm(name: string): Promise<void>;
  powerState(name: string): Promise<PowerState>;
  replaceDiskSource(vm: string, target: string, path: string, format: ImageFormat): Promise<void>;
  attachDisk(vm: string, disk: AttachDiskRequest): Promise<{ target: string }>;

  // Instant recovery.
  /** A qcow2 overlay `<dir>/<file>` on an NBD export; returns its path. */
  createNbdOverlay(dir: string, file: string, source: NbdOverlaySpec): Promise<string>;
  blockCopyToPool(
    vm: string,
    target: string,
    destPath: string,
    format: ImageFormat,
    options?: { onProgress?: (p: BlockCopyProgress) => void; signal?: AbortSignal; bandwidthMiBps?: number },
  ): Promise<void>;
};
