import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RepositoryError, errnoOf, ioError } from './errors.js';
import { POINT_FILE, dirNameToTime, parsePointId, pointDir } from './format.js';
import { decodeIndex, indexBinding, readIndexBytes, type DecodedIndex, type DiskIndex } from './index-file.js';
import { parseManifest } from './manifest.js';
import type { ManifestDisk, PointManifest } from './types.js';

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
  return parseManifest(text, `point ${id} (${path})`, id);
}

/** Time of a point id from its folder name, for ordering ids whose point.json may be unreadable. */
const timeOfId = (id: string): string => dirNameToTime(id.slice(id.indexOf('/') + 1)) ?? '';

/** Orders points (or ids) by time, then id: the catalog's order. */
const byTimeThenId = (a: string, b: string): number => {
  const [ta, tb] = [timeOfId(a), timeOfId(b)];
  return ta < tb ? -1 : ta > tb ? 1 : a < b ? -1 : a > b ? 1 : 0;
};

/** The ids of every point folder under points/, finished or not, in the catalog's order. */
export async function listPointFolders(root: string): Promise<string[]> {
  const ids: string[] = [];
  for (const vmId of (await readdirOrEmpty(join(root, 'points'))).sort()) {
    for (const dir of (await readdirOrEmpty(join(root, 'points', vmId))).sort()) {
      if (dirNameToTime(dir) !== null) ids.push(`${vmId}/${dir}`); // others are temporary files and the like
    }
  }
  return ids.sort(byTimeThenId);
}

/** Reads points/ from the folder alone: the catalog of a repository, in ascending time. */
export async function scanPoints(root: string): Promise<PointScan> {
  const scan: PointScan = { points: [], unreadable: [], unfinished: [] };
  for (const id of await listPointFolders(root)) {
    try {
      scan.points.push(await readManifest(root, id));
    } catch (e) {
      if (e instanceof RepositoryError && e.code === 'POINT_NOT_FOUND') scan.unfinished.push(id);
      else if (e instanceof RepositoryError && (e.code === 'POINT_VERSION' || e.code === 'POINT_CORRUPT')) scan.unreadable.push({ id, error: e });
      else throw e;
    }
  }
  scan.points.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : 1));
  return scan;
}

const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * One disk's index, checked against its point: the file's SHA-256 against point.json's
 * `indexSha256` (every version), then its structure, and from version 2 on its binding to
 * this point and disk. Returns the bytes too, for the writer's copy of a parent's index.
 */
export async function readPointIndex(root: string, m: PointManifest, d: ManifestDisk): Promise<{ file: Buffer; index: DecodedIndex }> {
  const where = `point ${m.id}, disk ${d.name}`;
  const corrupt = (why: string) => new RepositoryError('POINT_CORRUPT', `${where}: ${why}`);
  const file = await readIndexBytes(join(pointDir(root, m.id), d.index), where);
  const sha = sha256Hex(file);
  if (sha !== d.indexSha256)
    throw corrupt(
      `index ${d.index} is not the one point.json records (SHA-256 ${sha.slice(0, 16)}…, point.json records ${d.indexSha256.slice(0, 16)}…)${diagnose(file, m, d)}`,
    );
  const index = decodeIndex(file, `${where}, index ${d.index}`);
  if (index.version !== m.formatVersion) throw corrupt(`index ${d.index} is of format version ${index.version} in a version ${m.formatVersion} point`);
  if (index.binding && !index.binding.equals(indexBinding(m.id, d.name))) throw corrupt(`index ${d.index} belongs to another point or disk`);
  if (index.size !== d.size || index.blockSize !== d.blockSize) throw corrupt(`index ${d.index} does not match point.json (size or block size)`);
  return { file, index };
}

/** Why an index differs from the one point.json records, when the file itself can say: for the operator's message. */
function diagnose(file: Buffer, m: PointManifest, d: ManifestDisk): string {
  let index: DecodedIndex;
  try {
    index = decodeIndex(file, d.index);
  } catch (e) {
    if (!(e instanceof RepositoryError)) throw e;
    return `; ${e.message}`;
  }
  if (index.binding && !index.binding.equals(indexBinding(m.id, d.name))) return '; it is the index of another point or disk';
  return index.size === d.size && index.blockSize === d.blockSize
    ? "; it has other blocks (another point's index, or damage)"
    : '; its disk size or block size differ';
}

/** Every disk's index of a point, each checked as readPointIndex does; the first that fails throws POINT_CORRUPT naming the point and disk. */
export async function readPointIndexes(root: string, m: PointManifest): Promise<Map<string, DiskIndex>> {
  const out = new Map<string, DiskIndex>();
  for (const d of m.disks) out.set(d.name, (await readPointIndex(root, m, d)).index);
  return out;
}
