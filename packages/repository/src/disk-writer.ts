import { createHash } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChunkStore } from './chunk-store.js';
import { maxChunkBytes } from './codec/chunk-codec.mjs';
import { RepositoryError, ioError } from './errors.js';
import { DIGEST_BYTES, digestAt, encodeIndex, indexBinding, newIndex, type DiskIndex } from './index-file.js';
import type { Codec, DiskSummary } from './types.js';

/** What the point writer shares with each of its disks. */
export type WriterShared = {
  store: ChunkStore;
  /** The point's id, bound into each index it writes. */
  pointId: string;
  dir: string;
  /** Digests (latin1 keys) the store is known to hold: the parent's, and those written or found by this point. */
  known: Set<string>;
  /** Digests that verify marked bad: rewritten when seen, never trusted. */
  bad: Set<string>;
  /** Found on disk (not via the parent): re-checked at commit against a racing GC. */
  foundInStore: Set<string>;
  /** Bad chunks this point rewrote: their marks go at commit. */
  repaired: Set<string>;
  /** Chunks being written by some disk of this point, so that a duplicate waits instead of writing twice. */
  pending: Map<string, Promise<void>>;
  /** Called after each chunk file written, with its length (drives the background flush). */
  written: (bytes: number) => void;
};

const keyOf = (digest: Buffer): string => digest.toString('latin1');

/**
 * One disk of a point being written. The pipeline calls, per block: carry() for an
 * unchanged block, setBlock(i, null) for zeros, or need() and, when it says so, put().
 */
export class DiskWriter {
  readonly index: DiskIndex;
  readonly maxChunkBytes: number;
  finished: (DiskSummary & { index: string; blocks: number; zeroBlocks: number; indexSha256: string }) | null = null;
  private newBytes = 0;
  private storedBytes = 0;
  private readonly waiters = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();

  constructor(
    private readonly shared: WriterShared,
    readonly name: string,
    readonly size: number,
    readonly blockSize: number,
    readonly codec: Codec,
    /** zstd level, null for no compression. */
    readonly level: number | null,
    /** The parent point's index of this disk with the same block size, if any. */
    readonly parentIndex: DiskIndex | null,
  ) {
    this.index = newIndex(size, blockSize);
    this.maxChunkBytes = maxChunkBytes(blockSize);
  }

  get blockCount(): number {
    return this.index.blockCount;
  }

  /**
   * Copies block i from the parent; false when the parent cannot vouch for it (absent, its
   * last block was shorter, or verify marked its chunk bad: the caller then reads the block
   * from the source, and need() has it written again).
   */
  carry(i: number): boolean {
    const p = this.parentIndex;
    if (!p || i >= p.blockCount) return false;
    if (Math.min(this.size, (i + 1) * this.blockSize) > p.size) return false;
    const at = i * DIGEST_BYTES;
    // Only when there are marks at all: no per-block work on the ordinary backup path.
    if (this.shared.bad.size > 0 && this.shared.bad.has(p.entries.toString('latin1', at, at + DIGEST_BYTES))) return false;
    p.entries.copy(this.index.entries, at, at, at + DIGEST_BYTES);
    return true;
  }

  setBlock(i: number, digest: Buffer | null): void {
    if (digest === null) this.index.entries.fill(0, i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES);
    else digest.copy(this.index.entries, i * DIGEST_BYTES);
  }

  /** True when the caller must write this chunk (and then call put or abandon). */
  async need(digest: Buffer): Promise<boolean> {
    const key = keyOf(digest);
    const s = this.shared;
    const pending = s.pending.get(key);
    if (pending) {
      await pending;
      return false;
    }
    if (s.known.has(key)) return false;
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const p = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    // Waiters see the writer's failure through their own await; nobody else must.
    p.catch(() => undefined);
    s.pending.set(key, p);
    this.waiters.set(key, { resolve, reject });
    if (s.bad.has(key)) return true;
    let found: boolean;
    try {
      found = await s.store.touch(digest.toString('hex'));
    } catch (e) {
      this.abandon(digest, e as Error);
      throw e;
    }
    if (!found) return true;
    s.known.add(key);
    s.foundInStore.add(key);
    this.settle(key);
    return false;
  }

  /** Stores a chunk file produced by encodeChunk for a block of rawLength bytes. */
  async put(digest: Buffer, file: Uint8Array, rawLength: number): Promise<void> {
    const key = keyOf(digest);
    try {
      await this.shared.store.put(digest.toString('hex'), file);
    } catch (e) {
      this.abandon(digest, e as Error);
      throw e;
    }
    if (this.shared.bad.has(key)) this.shared.repaired.add(key);
    this.shared.known.add(key);
    this.newBytes += rawLength;
    this.storedBytes += file.length;
    this.shared.written(file.length);
    this.settle(key);
  }

  abandon(digest: Buffer, error: Error): void {
    const key = keyOf(digest);
    const w = this.waiters.get(key);
    this.waiters.delete(key);
    this.shared.pending.delete(key);
    w?.reject(error);
  }

  private settle(key: string): void {
    const w = this.waiters.get(key);
    this.waiters.delete(key);
    this.shared.pending.delete(key);
    w?.resolve();
  }

  /** Writes the disk's index into the point's folder (made durable by the commit's sync). */
  async finish(): Promise<void> {
    if (this.waiters.size > 0) throw new RepositoryError('POINT_STATE', `disk ${this.name}: ${this.waiters.size} chunks were claimed but never written`);
    const file = encodeIndex(this.index, indexBinding(this.shared.pointId, this.name));
    const indexName = `${this.name}.idx`;
    try {
      // Under a temporary name first: a concurrent GC reads the .idx files of live writers.
      const tmp = join(this.shared.dir, `${indexName}.tmp`);
      await writeFile(tmp, file);
      await rename(tmp, join(this.shared.dir, indexName));
    } catch (e) {
      throw ioError(e, `writing the index of disk ${this.name}`);
    }
    let zeroBlocks = 0;
    for (let i = 0; i < this.index.blockCount; i++) if (digestAt(this.index, i) === null) zeroBlocks++;
    this.finished = {
      name: this.name,
      size: this.size,
      blockSize: this.blockSize,
      codec: this.codec,
      newBytes: this.newBytes,
      storedBytes: this.storedBytes,
      index: indexName,
      blocks: this.index.blockCount,
      zeroBlocks,
      indexSha256: createHash('sha256').update(file).digest('hex'),
    };
  }
}
