import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { crc32c } from './codec/chunk-codec.mjs';
import { RepositoryError, errnoOf, ioError } from './errors.js';
import { POINT_FORMAT_VERSION, READABLE_POINT_VERSIONS, isBlockSize } from './format.js';

/** Layout in FORMAT.md "Disk index". */
export const INDEX_MAGIC = 0x58494253; // "SBIX" as a little-endian u32
/** Header of a version 1 index; bytes 0–63 keep this layout in every version. */
export const INDEX_V1_HEADER_BYTES = 64;
/** Version 2 appends the 32-byte binding to the version 1 header. */
export const INDEX_HEADER_BYTES = 96;
export const DIGEST_BYTES = 32;

/** A disk's block map in memory: one 32-byte digest per block, all zeros for a zero block. */
export type DiskIndex = { size: number; blockSize: number; blockCount: number; entries: Buffer };

/** An index as read from its file: its version, and its binding (null in version 1, which has none). */
export type DecodedIndex = DiskIndex & { version: number; binding: Buffer | null };

export const blockCountOf = (size: number, blockSize: number): number => Math.ceil(size / blockSize);

export function newIndex(size: number, blockSize: number): DiskIndex {
  const blockCount = blockCountOf(size, blockSize);
  return { size, blockSize, blockCount, entries: Buffer.alloc(blockCount * DIGEST_BYTES) };
}

/**
 * What ties an index to the one place it belongs: SHA-256 of `<pointId> NUL <disk name>`
 * (UTF-8). An index copied over another point's or disk's index of the same geometry
 * decodes cleanly; this is what tells it apart.
 */
export const indexBinding = (pointId: string, diskName: string): Buffer => createHash('sha256').update(`${pointId}\0${diskName}`, 'utf8').digest();

/** The digest of block i, or null for a zero block. A view into the index: copy to keep. */
export function digestAt(index: DiskIndex, i: number): Buffer | null {
  const d = index.entries.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES);
  for (let k = 0; k < DIGEST_BYTES; k++) if (d[k] !== 0) return d;
  return null;
}

/** A version 2 index file, bound to `binding` (indexBinding of its point and disk). */
export function encodeIndex(index: DiskIndex, binding: Buffer): Buffer {
  if (binding.length !== DIGEST_BYTES) throw new RepositoryError('BAD_ARGUMENT', `an index binding is ${DIGEST_BYTES} bytes, not ${binding.length}`);
  const out = Buffer.alloc(INDEX_HEADER_BYTES + index.entries.length);
  out.writeUInt32LE(INDEX_MAGIC, 0);
  out.writeUInt32LE(POINT_FORMAT_VERSION, 4);
  out.writeUInt32LE(index.blockSize, 8);
  out.writeBigUInt64LE(BigInt(index.size), 16);
  out.writeBigUInt64LE(BigInt(index.blockCount), 24);
  out.writeUInt32LE(crc32c(index.entries), 32);
  // The binding's CRC sits inside the CRC-covered bytes, so that damage to the binding reads as damage, not as "another point's index".
  out.writeUInt32LE(crc32c(binding), 36);
  out.writeUInt32LE(crc32c(out.subarray(0, 60)), 60);
  binding.copy(out, INDEX_V1_HEADER_BYTES);
  index.entries.copy(out, INDEX_HEADER_BYTES);
  return out;
}

/** Decodes and checks an index file on its own (no point.json needed); points.ts checks it against its point. */
export function decodeIndex(file: Buffer, where: string): DecodedIndex {
  const corrupt = (why: string) => new RepositoryError('POINT_CORRUPT', `${where}: ${why}`);
  if (file.length < INDEX_V1_HEADER_BYTES || file.readUInt32LE(0) !== INDEX_MAGIC) throw corrupt('not a Strongbox disk index');
  // Bytes 0–59 and their CRC have the same place in every version: a newer index is told from a damaged one.
  if (file.readUInt32LE(60) !== crc32c(file.subarray(0, 60))) throw corrupt('index header CRC32C mismatch');
  const version = file.readUInt32LE(4);
  if (!READABLE_POINT_VERSIONS.includes(version))
    throw new RepositoryError(
      'POINT_VERSION',
      `${where}: index format version ${version} is not supported (this build reads ${READABLE_POINT_VERSIONS.join(', ')})`,
    );
  const headerBytes = version === 1 ? INDEX_V1_HEADER_BYTES : INDEX_HEADER_BYTES;
  if (file.length < headerBytes) throw corrupt(`${file.length} bytes, shorter than the ${headerBytes}-byte header of index version ${version}`);
  let binding: Buffer | null = null;
  if (version >= 2) {
    binding = file.subarray(INDEX_V1_HEADER_BYTES, INDEX_HEADER_BYTES);
    if (crc32c(binding) !== file.readUInt32LE(36)) throw corrupt('index binding CRC32C mismatch');
  }
  const blockSize = file.readUInt32LE(8);
  const size = Number(file.readBigUInt64LE(16));
  const blockCount = Number(file.readBigUInt64LE(24));
  if (!isBlockSize(blockSize)) throw corrupt(`block size ${blockSize} is not one of the supported sizes`);
  if (blockCount !== blockCountOf(size, blockSize)) throw corrupt(`${blockCount} blocks do not cover ${size} bytes`);
  const entries = file.subarray(headerBytes);
  if (entries.length !== blockCount * DIGEST_BYTES) throw corrupt(`${entries.length} bytes of entries for ${blockCount} blocks`);
  if (crc32c(entries) !== file.readUInt32LE(32)) throw corrupt('index entries CRC32C mismatch');
  return { size, blockSize, blockCount, entries, version, binding };
}

/** The bytes of an index file; a missing one is damage to its point (POINT_CORRUPT). `where` names the point and disk. */
export async function readIndexBytes(path: string, where?: string): Promise<Buffer> {
  const prefix = where ? `${where}: ` : '';
  try {
    return await readFile(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') throw new RepositoryError('POINT_CORRUPT', `${prefix}disk index ${path} is missing`, { cause: e });
    throw ioError(e, `${prefix}reading ${path}`);
  }
}

/** An index file read without its point: GC's staging folders, whose binding nobody checks (marking more only keeps more). */
export async function readIndexFile(path: string): Promise<DecodedIndex> {
  return decodeIndex(await readIndexBytes(path), path);
}
