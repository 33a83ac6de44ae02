import { join } from 'node:path';
import { RepositoryError } from './errors.js';
import type { BlockSize, Codec } from './types.js';

/** Version of strongbox.json and of the folder layout. See FORMAT.md. */
export const REPO_FORMAT_VERSION = 1;
/**
 * Version of point.json and of the .idx files this build writes. Version 2 added the
 * point.json checksum and the index's binding to its point and disk (FORMAT.md).
 */
export const POINT_FORMAT_VERSION = 2;
/** Versions this build reads: 1 is checked by the index SHA-256s in point.json alone. */
export const READABLE_POINT_VERSIONS: readonly number[] = [1, 2];
export const REPO_FILE = 'strongbox.json';
export const POINT_FILE = 'point.json';

export const BLOCK_SIZES: readonly BlockSize[] = [262144, 524288, 1048576, 4194304];
export const DEFAULT_BLOCK_SIZE: BlockSize = 1048576;
export const CODECS: readonly Codec[] = ['none', 'fast', 'optimal', 'high'];
export const DEFAULT_CODEC: Codec = 'optimal';

/**
 * zstd level per codec setting, chosen by measurement with 1 MiB blocks of the bench's
 * text (a 1024-word vocabulary; README "Compression levels"): level 2 compresses it to
 * 0.362 at the speed of level 1 (0.378), level 3 reaches 0.353 at ~60% of the speed,
 * level 9 ~0.33 at a quarter. -1 is ~15% faster than 1 but only reaches ~0.45.
 */
export const ZSTD_LEVEL: Record<Codec, number | null> = { none: null, fast: -1, optimal: 2, high: 9 };

export const isBlockSize = (n: unknown): n is BlockSize => BLOCK_SIZES.includes(n as BlockSize);
export const isCodec = (c: unknown): c is Codec => CODECS.includes(c as Codec);

// VM ids and disk names become path components: no separators, no dot-files.
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export function checkName(kind: 'vmId' | 'disk', name: string): string {
  if (!NAME.test(name)) throw new RepositoryError('BAD_ARGUMENT', `${kind} ${JSON.stringify(name)} is not usable as a file name (letters, digits, . _ -)`);
  return name;
}

/** ISO 8601 basic format (no colons, which SMB and Windows refuse in names): 20261122T072122.123Z. */
export function timeToDirName(time: Date): string {
  return time.toISOString().replace(/[-:]/g, '');
}

export function dirNameToTime(name: string): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z$/.exec(name);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z` : null;
}

export const chunkRelPath = (hex: string): string => join('chunks', hex.slice(0, 2), hex.slice(2, 4), hex);

export const pointDir = (root: string, pointId: string): string => join(root, 'points', ...pointId.split('/'));

/** A point id is `<vmId>/<time dir name>`: the point's folder under points/. */
export function parsePointId(id: string): { vmId: string; dir: string } {
  const [vmId, dir, ...rest] = id.split('/');
  if (!vmId || !dir || rest.length > 0 || !NAME.test(vmId) || dirNameToTime(dir) === null) {
    throw new RepositoryError('POINT_NOT_FOUND', `${JSON.stringify(id)} is not a restore point id (<vmId>/<time>)`);
  }
  return { vmId, dir };
}

export const ZERO_DIGEST = Buffer.alloc(32);
