import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RepositoryError, errnoOf, ioError } from './errors.js';
import { POINT_FILE, dirNameToTime, parsePointId, pointDir } from './format.js';
import { readIndexFile, type DiskIndex } from './index-file.js';
import { parseManifest } from './manifest.js';
import type { PointManifest } from './types.js';

export type PointScan = {
  points: PointManifest[];
  /** Points whose point.json exists but cannot be read (unknown version, corrupt). */
  unreadable: { id: string; error: RepositoryError }[];
  /** Point folders without point.json: unfinished or aborted writes (or live ones). */
  unfinished: string[];
};

const readdirOrEmpty = async (path: string): Promise<string[]> => {
  try {
    return await readdir(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw ioError(e, `listing ${path}`);
  }
};

export async function readManifest(root: string, id: string): Promise<PointManifest> {
  parsePointId(id);
  const path = join(pointDir(root, id), POINT_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') throw new RepositoryError('POINT_NOT_FOUND', `no restore point ${id} in ${root}`, { cause: e });
    throw ioError(e, `reading ${path}`);
  }
  return parseManifest(text, path, id);
}

/** Reads points/ from the folder alone: the catalog of a repository, in ascending time. */
export async function scanPoints(root: string): Promise<PointScan> {
  const scan: PointScan = { points: [], unreadable: [], unfinished: [] };
  for (const vmId of (await readdirOrEmpty(join(root, 'points'))).sort()) {
    for (const dir of (await readdirOrEmpty(join(root, 'points', vmId))).sort()) {
      if (dirNameToTime(dir) === null) continue; // not a point folder (temporary files and the like)
      const id = `${vmId}/${dir}`;
      try {
        scan.points.push(await readManifest(root, id));
      } catch (e) {
        if (e instanceof RepositoryError && e.code === 'POINT_NOT_FOUND') scan.unfinished.push(id);
        else if (e instanceof RepositoryError && (e.code === 'POINT_VERSION' || e.code === 'POINT_CORRUPT')) scan.unreadable.push({ id, error: e });
        else throw e;
      }
    }
  }
  scan.points.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : 1));
  return scan;
}

export async function readPointIndexes(root: string, m: PointManifest): Promise<Map<string, DiskIndex>> {
  const out = new Map<string, DiskIndex>();
  for (const d of m.disks) {
    const index = await readIndexFile(join(pointDir(root, m.id), d.index));
    if (index.size !== d.size || index.blockSize !== d.blockSize) {
      throw new RepositoryError('POINT_CORRUPT', `${m.id}: index of disk ${d.name} does not match point.json`);
    }
    out.set(d.name, index);
  }
  return out;
}
