import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RepositoryError, errnoOf, ioError } from './errors.js';
import { POINT_FILE, pointDir } from './format.js';
import type { DiskIndex } from './index-file.js';
import { listPointFolders, readManifest, readPointIndex } from './points.js';
import type { PointManifest, VerifyChecks, VerifyIssue } from './types.js';

export type LoadedDisk = { name: string; size: number; blockSize: number; index: DiskIndex | null; issue: VerifyIssue | null };

/** A point as verify found it: its manifest and each disk's index or what is wrong with it; or why point.json cannot be read. */
export type LoadedPoint =
  { id: string; manifest: PointManifest; checks: VerifyChecks; disks: LoadedDisk[]; error: null } | { id: string; manifest: null; error: VerifyIssue };

export type ReadablePoint = Extract<LoadedPoint, { error: null }>;

/** Verify reports what it cannot read instead of stopping; anything but a RepositoryError is a bug and still throws. */
const issueOf = (e: unknown): VerifyIssue => {
  if (e instanceof RepositoryError) return { code: e.code, message: e.message };
  throw e;
};

export const cancelled = (signal: AbortSignal): RepositoryError =>
  new RepositoryError('CANCELLED', `verify was stopped: ${String((signal.reason as Error | undefined)?.message ?? 'aborted')}`);

async function manifestExists(root: string, id: string): Promise<boolean> {
  try {
    await stat(join(pointDir(root, id), POINT_FILE));
    return true;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw ioError(e, `checking ${id}/${POINT_FILE}`);
  }
}

/**
 * Reads the points to verify and their indexes, going on past any that cannot be read.
 * Without `pointIds`, every point folder; one without point.json is an unfinished write,
 * not a point, and is left out. An id asked for that has no point is reported unreadable.
 */
export async function loadPoints(root: string, pointIds: string[] | undefined, signal: AbortSignal | undefined): Promise<LoadedPoint[]> {
  const asked = pointIds !== undefined;
  const ids = asked ? [...new Set(pointIds)] : await listPointFolders(root);
  const out: LoadedPoint[] = [];
  for (const id of ids) {
    if (signal?.aborted) throw cancelled(signal);
    let manifest: PointManifest;
    try {
      manifest = await readManifest(root, id);
    } catch (e) {
      const error = issueOf(e);
      if (error.code !== 'POINT_NOT_FOUND' || asked) out.push({ id, manifest: null, error });
      continue;
    }
    const disks: LoadedDisk[] = [];
    for (const d of manifest.disks) {
      const disk = { name: d.name, size: d.size, blockSize: d.blockSize };
      try {
        disks.push({ ...disk, index: (await readPointIndex(root, manifest, d)).index, issue: null });
      } catch (e) {
        disks.push({ ...disk, index: null, issue: issueOf(e) });
      }
    }
    // Deleted between reading its point.json and its indexes (retention running beside): gone, not damaged.
    if (disks.some((d) => d.issue) && !(await manifestExists(root, id))) {
      if (asked) out.push({ id, manifest: null, error: { code: 'POINT_NOT_FOUND', message: `restore point ${id} was deleted while it was verified` } });
      continue;
    }
    out.push({ id, manifest, checks: manifest.formatVersion >= 2 ? 'full' : 'sha256-only', disks, error: null });
  }
  return out;
}
