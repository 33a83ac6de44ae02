import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isSameProcessAlive, processStart } from '@strongbox/config';
import { chmod, chown, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Scratch space of running backups. Each job has a directory `strongbox-job-<id>` holding
 * its NBD sockets, scratch files and a `state.json` naming the owning process, so that
 * the janitor can tell a live job from the leftovers of a dead one.
 */
export const DEFAULT_WORK_DIR = '/var/tmp/strongbox-mover';
export const JOB_PREFIX = 'strongbox-job-';

type JobCommon = {
  version: 1;
  pid: number;
  /** Start time of `pid` (clock ticks since boot), so a recycled pid is not taken for the owner. */
  pidStart: number;
  uri: string;
  /** qemu-nbd processes this job started. */
  qemuNbd: { pid: number; pidStart: number }[];
};

/** A backup's view of a VM. */
export type BackupJobState = JobCommon & {
  domain: string;
  kind: 'running' | 'stopped';
  /** The checkpoint this job creates. */
  checkpoint: string;
  base: string | null;
  /** What identifies our job in `virsh backup-dumpxml` when it is not the job path (TCP exports). */
  exportMarker?: string;
  /** `committed` once release('success') has started: the new checkpoint is then kept. */
  phase: 'preparing' | 'exporting' | 'committed';
  /** Stopped VMs: the bitmaps this job added. */
  addedBitmaps: { path: string; bitmap: string }[];
};

/**
 * A restore's qemu-nbd export of one image (to write it, or to read a stopped disk's dirty
 * blocks). A dead owner leaves a qemu-nbd holding the image's lock: the janitor kills it,
 * and deletes `ownedVolume` — a volume this restore created and had not finished writing.
 */
export type ExportJobState = JobCommon & {
  kind: 'export';
  image: string;
  ownedVolume: { pool: string; name: string } | null;
};

/**
 * Instant recovery's live copy of a disk onto a pool image (`virsh blockcopy --wait
 * --pivot`, a child process that outlives a killed owner). The janitor stops the copier;
 * then a VM already pivoted gets its persistent definition pointed at `dest` (else its next
 * boot would be from the overlay), and a copy still mirroring is aborted.
 */
export type BlockCopyJobState = JobCommon & {
  kind: 'block-copy';
  domain: string;
  target: string;
  dest: string;
  format: 'qcow2' | 'raw';
  copier: { pid: number; pidStart: number } | null;
};

export type JobState = BackupJobState | ExportJobState | BlockCopyJobState;

const owned = () => ({ version: 1 as const, pid: process.pid, pidStart: processStart(process.pid) ?? 0 });

async function makeJobPath(workDir: string, owner: { uid: number; gid: number } | null): Promise<string> {
  await mkdir(workDir, { recursive: true, mode: 0o711 });
  // QEMU runs as its own user and must reach its socket inside: others need search (x) here.
  const mode = (await stat(workDir)).mode & 0o7777;
  if ((mode & 0o011) !== 0o011) await chmod(workDir, mode | 0o011);
  const path = join(workDir, `${JOB_PREFIX}${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`);
  await mkdir(path, { mode: 0o700 });
  // QEMU (not root) creates the NBD socket and writes scratch files here: only it and root may enter.
  if (owner) await chown(path, owner.uid, owner.gid);
  await chmod(path, 0o700);
  return path;
}

export class JobDir<S extends JobState = BackupJobState> {
  private constructor(
    readonly path: string,
    private state: S,
  ) {}

  static async create(
    workDir: string,
    init: Omit<BackupJobState, 'version' | 'pid' | 'pidStart' | 'phase' | 'qemuNbd' | 'addedBitmaps'>,
    owner: { uid: number; gid: number } | null,
  ): Promise<JobDir<BackupJobState>> {
    const path = await makeJobPath(workDir, owner);
    return JobDir.start(path, { ...owned(), phase: 'preparing', qemuNbd: [], addedBitmaps: [], ...init });
  }

  /** A job for a restore's export of `image`; qemu-nbd runs as root here, so the directory stays root's. */
  static async createExport(workDir: string, init: Omit<ExportJobState, 'version' | 'pid' | 'pidStart' | 'qemuNbd' | 'kind'>): Promise<JobDir<ExportJobState>> {
    const path = await makeJobPath(workDir, null);
    return JobDir.start(path, { ...owned(), kind: 'export', qemuNbd: [], ...init });
  }

  static async createBlockCopy(
    workDir: string,
    init: Omit<BlockCopyJobState, 'version' | 'pid' | 'pidStart' | 'qemuNbd' | 'kind' | 'copier'>,
  ): Promise<JobDir<BlockCopyJobState>> {
    const path = await makeJobPath(workDir, null);
    return JobDir.start(path, { ...owned(), kind: 'block-copy', qemuNbd: [], copier: null, ...init });
  }

  private static async start<T extends JobState>(path: string, state: T): Promise<JobDir<T>> {
    const dir = new JobDir(path, state);
    try {
      await dir.save();
    } catch (e) {
      await dir.remove();
      throw e;
    }
    return dir;
  }

  get current(): Readonly<S> {
    return this.state;
  }

  async update(change: Partial<S>): Promise<void> {
    this.state = { ...this.state, ...change };
    await this.save();
  }

  private async save(): Promise<void> {
    // The state file sits beside the job directory, root-only, so QEMU's user cannot alter it.
    const tmp = `${this.path}.state.tmp`;
    await writeFile(tmp, JSON.stringify(this.state, null, 2), { mode: 0o600 });
    await rename(tmp, `${this.path}.state.json`);
  }

  /** This process gives the job up: the janitor, which cleans jobs no live process owns, takes it from here. */
  async disown(): Promise<void> {
    this.state = { ...this.state, pid: 0, pidStart: 0 };
    await this.save();
  }

  async remove(): Promise<void> {
    await rm(this.path, { recursive: true, force: true });
    await rm(`${this.path}.state.json`, { force: true });
  }
}

export type StaleJob = { path: string; state: JobState | null };

/** Job directories whose owner process is gone (or whose state file is unreadable). */
export async function findStaleJobs(workDir: string): Promise<StaleJob[]> {
  if (!existsSync(workDir)) return [];
  const stale: StaleJob[] = [];
  for (const name of await readdir(workDir)) {
    if (!name.startsWith(JOB_PREFIX) || name.endsWith('.tmp')) continue;
    const path = join(workDir, name.replace(/\.state\.json$/, ''));
    if (stale.some((s) => s.path === path)) continue;
    let state: JobState | null = null;
    try {
      state = JSON.parse(readFileSync(`${path}.state.json`, 'utf8')) as JobState;
    } catch {
      state = null; // a job that died before its first state write: only files to remove
    }
    if (state && isSameProcessAlive(state.pid, state.pidStart)) continue;
    stale.push({ path, state });
  }
  return stale;
}

/**
 * What is left in a mover's work dir besides its (empty) folders: files, sockets, job
 * folders' contents — relative paths, for tests and the soak to say that nothing remains.
 * Guest-file mounts (`mounts/`) are not counted: a mount lives while its user browses, in
 * whichever process on this machine holds it; the mount tests check their own folders.
 */
export function scratchLeftovers(workDir = DEFAULT_WORK_DIR): string[] {
  const found: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (path === 'mounts') continue;
      if (entry.isDirectory()) walk(join(dir, entry.name), path);
      else found.push(path);
    }
  };
  if (existsSync(workDir)) walk(workDir, '');
  return found.sort();
}
