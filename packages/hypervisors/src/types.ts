import type { DiskReader } from '@strongbox/core';

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

/** What every hypervisor connector offers the mover. */
export type HypervisorConnector = {
  readonly kind: string;
  listHosts(): Promise<HostInfo[]>;
  listVms(): Promise<VmSummary[]>;
  getVm(nameOrUuid: string): Promise<VmDetails>;
  openBackup(request: BackupRequest): Promise<BackupView>;
  restoreTargets(): Promise<RestoreTarget[]>;
};
