import { ChunkStore } from './chunk-store.js';
import { decodeChunk, maxChunkBytes } from './codec/chunk-codec.mjs';
import { RepositoryError } from './errors.js';
import { digestAt, type DiskIndex } from './index-file.js';
import { readManifest, readPointIndexes } from './points.js';
import type { PointManifest } from './types.js';

/** One disk of a restore point: random reads for the NBD server and file-level restore, and the block map for restoreDisk. */
export class PointDisk {
  private cached: { block: number; data: Buffer } | null = null;
  private scratch: Buffer | null = null;

  constructor(
    readonly name: string,
    readonly index: DiskIndex,
    readonly store: ChunkStore,
  ) {}

  get size(): number {
    return this.index.size;
  }
  get blockSize(): number {
    return this.index.blockSize;
  }
  get blockCount(): number {
    return this.index.blockCount;
  }
  /** Digest of block i, or null for a zero block. */
  digestAt(i: number): Buffer | null {
    return digestAt(this.index, i);
  }
  blockLength(i: number): number {
    return Math.min(this.index.blockSize, this.index.size - i * this.index.blockSize);
  }

  /** Reads [offset, offset+length) of the disk. Decodes on the calling thread; restoreDisk uses the worker pool. */
  async read(offset: number, length: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new RepositoryError('BAD_ARGUMENT', `read ${offset}+${length} is outside disk ${this.name} (${this.size} bytes)`);
    }
    const out = Buffer.alloc(length);
    const bs = this.blockSize;
    for (let at = offset; at < offset + length;) {
      const block = Math.floor(at / bs);
      const end = Math.min(offset + length, (block + 1) * bs);
      const data = await this.block(block);
      if (data) data.copy(out, at - offset, at - block * bs, end - block * bs);
      at = end;
    }
    return out;
  }

  /** The raw bytes of block i (null when zero), checked against its CRC and SHA-256. */
  async block(i: number): Promise<Buffer | null> {
    const digest = this.digestAt(i);
    if (!digest) return null;
    if (this.cached?.block === i) return this.cached.data;
    const hex = digest.toString('hex');
    this.scratch ??= Buffer.allocUnsafe(maxChunkBytes(this.blockSize));
    const n = await this.store.read(hex, this.scratch);
    if (n === null) throw new RepositoryError('CHUNK_BAD', `chunk ${hex} (block ${i} of disk ${this.name}) is missing`);
    const data = Buffer.allocUnsafe(this.blockLength(i));
    const r = decodeChunk(this.scratch.subarray(0, n), data, digest);
    if (!r.ok) throw new RepositoryError('CHUNK_BAD', `chunk ${hex} (block ${i} of disk ${this.name}) is bad: ${r.problem}, ${r.detail}`);
    if (r.rawLength !== data.length)
      throw new RepositoryError('CHUNK_BAD', `chunk ${hex} holds ${r.rawLength} bytes, block ${i} of disk ${this.name} needs ${data.length}`);
    this.cached = { block: i, data };
    return data;
  }
}

export class PointReader {
  private constructor(
    readonly manifest: PointManifest,
    private readonly handles: Map<string, PointDisk>,
  ) {}

  static async open(root: string, id: string): Promise<PointReader> {
    const manifest = await readManifest(root, id);
    const indexes = await readPointIndexes(root, manifest);
    const store = new ChunkStore(root);
    return new PointReader(manifest, new Map([...indexes].map(([name, index]) => [name, new PointDisk(name, index, store)])));
  }

  get id(): string {
    return this.manifest.id;
  }

  get disks(): { name: string; size: number }[] {
    return this.manifest.disks.map((d) => ({ name: d.name, size: d.size }));
  }

  disk(name: string): PointDisk {
    const d = this.handles.get(name);
    if (!d) throw new RepositoryError('DISK_NOT_FOUND', `point ${this.id} has no disk ${name} (it has ${[...this.handles.keys()].join(', ') || 'none'})`);
    return d;
  }

  async close(): Promise<void> {
    this.handles.clear();
  }
}
