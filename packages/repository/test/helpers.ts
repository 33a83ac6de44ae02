import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeChunk, maxChunkBytes, type PointWriter, type Repository } from '../src/index.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `strongbox-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random bytes (a seed per block), so tests can make shared content. */
export function block(seed: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  let at = 0;
  for (let i = 0; at < size; i++) {
    const h = createHash('sha256').update(`${seed}:${i}`).digest();
    at += h.copy(out, at);
  }
  return out;
}

export const randomBlock = (size: number): Buffer => randomBytes(size);

/** Writes one disk of a point from blocks held in memory (null = zeros), without the pipeline. */
export async function writeDisk(writer: PointWriter, name: string, blocks: (Buffer | null)[], size: number): Promise<void> {
  const disk = writer.openDisk(name, size);
  const out = Buffer.allocUnsafe(maxChunkBytes(disk.blockSize));
  for (const [i, b] of blocks.entries()) {
    if (!b) {
      disk.setBlock(i, null);
      continue;
    }
    const digest = createHash('sha256').update(b).digest();
    if (await disk.need(digest)) {
      const n = encodeChunk(b, disk.level, out);
      await disk.put(digest, Buffer.from(out.subarray(0, n)), b.length);
    }
    disk.setBlock(i, digest);
  }
  await disk.finish();
}

/** A committed point of `blockCount` blocks of 256 KiB from seeds (null = zero block). */
export async function makePoint(repo: Repository, vmId: string, seeds: (number | null)[], opts: { parent?: string; time?: Date } = {}) {
  const bs = 262144;
  const writer = await repo.beginPoint({
    vmId,
    kind: opts.parent ? 'incremental' : 'full',
    parent: opts.parent ?? null,
    config: '<domain/>',
    blockSize: bs,
    time: opts.time,
  });
  await writeDisk(
    writer,
    'vda',
    seeds.map((s) => (s === null ? null : block(s, bs))),
    seeds.length * bs,
  );
  return writer.commit();
}
