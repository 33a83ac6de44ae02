import { readFile } from 'node:fs/promises';
import { crc32c } from './codec/chunk-codec.mjs';
import { RepositoryError, errnoOf, ioError } from './errors.js';
import { POINT_FORMAT_VERSION, isBlockSize } from './format.js';

/** Layout in FORMAT.md "Disk index". */
export const INDEX_MAGIC = 0x58494253; // "SBIX" as a little-endian u32
export const INDEX_HEADER_BYTES = 64;
export const DIGEST_BYTES = 32;

/** A disk's block map in memory: one 32-byte digest per block, all zeros for a zero block. */
export type DiskIndex = { size: number; blockSize: number; blockCount: number; entries: Buffer };

export const blockCountOf = (size: number, blockSize: number): number => Math.ceil(size / blockSize);

export function newIndex(size: number, blockSize: number): DiskIndex {
  const blockCount = blockCountOf(size, blockSize);
  return { size, blockSize, blockCount, entries: Buffer.alloc(blockCount * DIGEST_BYTES) };
}

/** The digest of block i, or null for a zero block. A view into the index: copy to keep. */
export function digestAt(index: DiskIndex, i: number): Buffer | null {
  const d = index.entries.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES);
  for (let k = 0; k < DIGEST_BYTES; k++) if (d[k] !== 0) return d;
  return null;
}

export function encodeIndex(index: DiskIndex): Buffer {
  const out = Buffer.alloc(INDEX_HEADER_BYTES + index.entries.length);
  out.writeUInt32LE(INDEX_MAGIC, 0);
  out.writeUInt32LE(POINT_FORMAT_VERSION, 4);
  out.writeUInt32LE(index.blockSize, 8);
  out.writeBigUInt64LE(BigInt(index.size), 16);
  out.writeBigUInt64LE(BigInt(index.blockCount), 24);
  out.writeUInt32LE(crc32c(index.entries), 32);
  out.writeUInt32LE(crc32c(out.subarray(0, 60)), 60);
  index.entries.copy(out, INDEX_HEADER_BYTES);
  return out;
}

export function decodeIndex(file: Buffer, where: string): DiskIndex {
  const corrupt = (why: string) => new RepositoryError('POINT_CORRUPT', `${where}: ${why}`);
  if (file.length < INDEX_HEADER_BYTES || file.readUInt32LE(0) !== INDEX_MAGIC) throw corrupt('not a Strongbox disk index');
  if (file.readUInt32LE(60) !== crc32c(file.subarray(0, 60))) throw corrupt('index header CRC32C mismatch');
  const version = file.readUInt32LE(4);
  if (version !== POINT_FORMAT_VERSION)
    throw new RepositoryError('POINT_VERSION', `${where}: index format version ${version} is not supported (this build reads ${POINT_FORMAT_VERSION})`);
  const blockSize = file.readUInt32LE(8);
  const size = Number(file.readBigUInt64LE(16));
  const blockCount = Number(file.readBigUInt64LE(24));
  if (!isBlockSize(blockSize)) throw corrupt(`block size ${blockSize} is not one of the supported sizes`);
  if (blockCount !== blockCountOf(size, blockSize)) throw corrupt(`${blockCount} blocks do not cover ${size} bytes`);
  const entries = file.subarray(INDEX_HEADER_BYTES);
  if (entries.length !== blockCount * DIGEST_BYTES) throw corrupt(`${entries.length} bytes of entries for ${blockCount} blocks`);
  if (crc32c(entries) !== file.readUInt32LE(32)) throw corrupt('index entries CRC32C mismatch');
  return { size, blockSize, blockCount, entries };
}

export async function readIndexFile(path: string): Promise<DiskIndex> {
  let file: Buffer;
  try {
    file = await readFile(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') throw new RepositoryError('POINT_CORRUPT', `${path}: disk index is missing`, { cause: e });
    throw ioError(e, `reading ${path}`);
  }
  return decodeIndex(file, path);
}
