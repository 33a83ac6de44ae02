/**
 * Helpers for tests that damage a repository by hand, as an operator might. The checksum
 * and the version 1 layout are written here from FORMAT.md, not taken from src: the tests
 * then also check that the format is documented well enough to write a second reader.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { RepositoryError, crc32c, encodeChunk, maxChunkBytes, type Repository } from '../src/index.js';

export const sha256hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

export const pointFile = (repo: Repository, id: string, name: string): string => join(repo.path, 'points', ...id.split('/'), name);

export const chunkPath = (repo: Repository, raw: Buffer): string => {
  const hex = sha256hex(raw);
  return join(repo.path, 'chunks', hex.slice(0, 2), hex.slice(2, 4), hex);
};

/** Every file of a folder with its SHA-256: equal snapshots mean nothing changed. */
export const snapshot = (dir: string): string =>
  execFileSync('sh', ['-c', `cd '${dir}' && find . -type f -print0 | sort -z | xargs -0 sha256sum`], { encoding: 'utf8' });

export const codeOf = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof RepositoryError ? e.code : String(e)),
  );

export const errorOf = async (p: Promise<unknown>): Promise<RepositoryError> =>
  p.then(
    () => {
      throw new Error('expected a RepositoryError, the promise resolved');
    },
    (e: unknown) => {
      if (!(e instanceof RepositoryError)) throw e;
      return e;
    },
  );

export function flipBit(path: string, at: number, mask = 0x10): void {
  const fd = openSync(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0]! ^= mask;
    writeSync(fd, b, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

/** RFC 8785 for parsed JSON: sorted members, no whitespace, ECMAScript's strings and numbers. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Changes point.json and, when `reseal`, gives it the checksum FORMAT.md describes for the new content. */
export function editManifest(path: string, edit: (m: Record<string, unknown>) => void, reseal = true): void {
  const m = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(m);
  if (reseal) {
    delete m.sha256;
    m.sha256 = sha256hex(canonical(m));
  }
  writeFileSync(path, JSON.stringify(m, null, 2) + '\n');
}

/** A version 1 index, as the build before index bindings wrote it (64-byte header). */
export function encodeIndexV1(size: number, blockSize: number, entries: Buffer): Buffer {
  const out = Buffer.alloc(64 + entries.length);
  out.writeUInt32LE(0x58494253, 0);
  out.writeUInt32LE(1, 4);
  out.writeUInt32LE(blockSize, 8);
  out.writeBigUInt64LE(BigInt(size), 16);
  out.writeBigUInt64LE(BigInt(Math.ceil(size / blockSize)), 24);
  out.writeUInt32LE(crc32c(entries), 32);
  out.writeUInt32LE(crc32c(out.subarray(0, 60)), 60);
  entries.copy(out, 64);
  return out;
}

/**
 * Writes a committed point in the version 1 layout by hand: chunks, one version 1 index per
 * disk, and a version 1 point.json without a checksum. Blocks are full 256 KiB blocks or null.
 */
export function writeLegacyPoint(repo: Repository, vmId: string, time: Date, disks: { name: string; blocks: (Buffer | null)[] }[], config: string): string {
  const bs = 262144;
  const dirName = time.toISOString().replace(/[-:]/g, '');
  const id = `${vmId}/${dirName}`;
  const dir = join(repo.path, 'points', vmId, dirName);
  mkdirSync(dir, { recursive: true });
  const out = Buffer.alloc(maxChunkBytes(bs));
  const manifestDisks = disks.map(({ name, blocks }) => {
    const entries = Buffer.alloc(blocks.length * 32);
    for (const [i, b] of blocks.entries()) {
      if (!b) continue;
      const digest = createHash('sha256').update(b).digest();
      digest.copy(entries, i * 32);
      const path = chunkPath(repo, b);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(`${path}.tmp-legacy`, out.subarray(0, encodeChunk(b, 2, out)));
      renameSync(`${path}.tmp-legacy`, path);
    }
    const file = encodeIndexV1(blocks.length * bs, bs, entries);
    writeFileSync(join(dir, `${name}.idx`), file);
    const zeroBlocks = blocks.filter((b) => b === null).length;
    return {
      name,
      size: blocks.length * bs,
      blockSize: bs,
      codec: 'optimal',
      newBytes: (blocks.length - zeroBlocks) * bs,
      storedBytes: 0,
      index: `${name}.idx`,
      blocks: blocks.length,
      zeroBlocks,
      indexSha256: sha256hex(file),
    };
  });
  const manifest = { formatVersion: 1, id, vmId, time: time.toISOString(), kind: 'full', parent: null, config, job: null, disks: manifestDisks };
  writeFileSync(join(dir, 'point.json'), JSON.stringify(manifest, null, 2) + '\n');
  return id;
}
