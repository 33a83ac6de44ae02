import { randomBytes } from 'node:crypto';
import { readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isSameProcessAlive, processStart } from '@strongbox/config';
import { errnoOf, ioError } from './errors.js';

/**
 * Writer leases (locks/<id>.lease): while one is live, GC keeps every chunk younger than
 * its start, the lease's parent point and the writer's staging folder. A lease is live
 * while its process runs (same host: the same pid, started at the same time — a pid alone
 * comes back after a restart, always so in a container) or while its heartbeat is fresh
 * (another host, e.g. a mover sharing an NFS repository).
 */
export type LeaseInfo = {
  leaseId: string;
  pointId: string;
  parent: string | null;
  host: string;
  pid: number;
  /** The process's start (see processStart); absent in leases written before it was recorded. */
  pidStart?: number | null;
  started: number;
};
export type LeaseEntry = { info: LeaseInfo; path: string; live: boolean };

export const HEARTBEAT_MS = 60_000;
export const LEASE_TTL_MS = 15 * 60_000;

export type Lease = { info: LeaseInfo; release(): Promise<void> };

export async function takeLease(root: string, pointId: string, parent: string | null): Promise<Lease> {
  const info: LeaseInfo = {
    leaseId: randomBytes(8).toString('hex'),
    pointId,
    parent,
    host: hostname(),
    pid: process.pid,
    pidStart: processStart(process.pid),
    started: Date.now(),
  };
  const path = join(root, 'locks', `${info.leaseId}.lease`);
  try {
    await writeFile(path, JSON.stringify(info), { flag: 'wx' });
  } catch (e) {
    throw ioError(e, `taking a writer lease in ${root}`);
  }
  const timer = setInterval(() => {
    const now = new Date();
    // A missed heartbeat only matters to other hosts after LEASE_TTL_MS; the next tick retries.
    utimes(path, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  timer.unref();
  return {
    info,
    async release() {
      clearInterval(timer);
      await rm(path, { force: true });
    },
  };
}

/** Whether a process of this host with that pid still runs (EPERM: it does, as another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoOf(e) === 'EPERM';
  }
}

/** The process that wrote a lease or lock on this host still runs: its pid, and (when it was recorded) its start. */
export function writerAlive(pid: number, pidStart: number | null | undefined): boolean {
  if (typeof pidStart === 'number') return isSameProcessAlive(pid, pidStart);
  return pidAlive(pid);
}

export async function listLeases(root: string, now = Date.now()): Promise<LeaseEntry[]> {
  const dir = join(root, 'locks');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.lease'));
  const out: LeaseEntry[] = [];
  for (const name of names) {
    const path = join(dir, name);
    let text: string;
    let mtimeMs: number;
    try {
      [text, mtimeMs] = await Promise.all([readFile(path, 'utf8'), stat(path).then((s) => s.mtimeMs)]);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') continue; // released while we listed
      throw ioError(e, `reading lease ${path}`);
    }
    let info: LeaseInfo;
    try {
      info = JSON.parse(text) as LeaseInfo;
    } catch {
      // A lease torn by a crash while being written: its writer cannot have started writing.
      out.push({ info: { leaseId: name, pointId: '', parent: null, host: '', pid: 0, started: mtimeMs }, path, live: now - mtimeMs < LEASE_TTL_MS });
      continue;
    }
    const live = info.host === hostname() ? writerAlive(info.pid, info.pidStart) : now - mtimeMs < LEASE_TTL_MS;
    out.push({ info, path, live });
  }
  return out;
}
