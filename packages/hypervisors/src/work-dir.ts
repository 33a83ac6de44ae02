import { existsSync, readFileSync } from 'node:fs';
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

export type JobState = {
  version: 1;
  pid: number;
  /** Start time of `pid` (clock ticks since boot), so a recycled pid is not taken for the owner. */
  pidStart: number;
  uri: string;
  domain: string;
  kind: 'running' | 'stopped';
  /** The checkpoint this job creates. */
  checkpoint: string;
  base: string | null;
  /** What identifies our job in `virsh backup-dumpxml` when it is not the job path (TCP exports). */
  exportMarker?: string;
  /** `committed` once release('success') has started: the new checkpoint is then kept. */
  phase: 'preparing' | 'exporting' | 'committed';
  /** Stopped VMs: qemu-nbd processes and the bitmaps this job added. */
  qemuNbd: { pid: number; pidStart: number }[];
  addedBitmaps: { path: string; bitmap: string }[];
};

export class JobDir {
  private constructor(
    readonly path: string,
    private state: JobState,
  ) {}

  static async create(
    workDir: string,
    init: Omit<JobState, 'version' | 'pid' | 'pidStart' | 'phase' | 'qemuNbd' | 'addedBitmaps'>,
    owner: { uid: number; gid: number } | null,
  ): Promise<JobDir> {
    await mkdir(workDir, { recursive: true, mode: 0o711 });
    // QEMU runs as its own user and must reach its socket inside: others need search (x) here.
    const mode = (await stat(workDir)).mode & 0o7777;
    if ((mode & 0o011) !== 0o011) await chmod(workDir, mode | 0o011);
    const path = join(workDir, `${JOB_PREFIX}${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`);
    await mkdir(path, { mode: 0o700 });
    // QEMU (not root) creates the NBD socket and writes scratch files here: only it and root may enter.
    if (owner) await chown(path, owner.uid, owner.gid);
    await chmod(path, 0o700);
    const state: JobState = {
      version: 1,
      pid: process.pid,
      pidStart: processStart(process.pid) ?? 0,
      phase: 'preparing',
      qemuNbd: [],
      addedBitmaps: [],
      ...init,
    };
    const dir = new JobDir(path, state);
    await dir.save();
    return dir;
  }

  get current(): Readonly<JobState> {
    return this.state;
  }

  async update(change: Partial<JobState>): Promise<void> {
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
    await this.update({ pid: 0, pidStart: 0 });
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
