import { ChunkPool, RepositoryError, maxChunkBytes, transferable, type PointDisk } from '@strongbox/repository';
import { Semaphore } from './buffers.js';
import { PipelineError } from './errors.js';

export type PointDiskSourceOptions = {
  /** Decoded blocks kept in memory, least recently used dropped first. Default 256 MiB. */
  cacheBytes?: number;
  /** Also check each block's SHA-256 (CRC32C is always checked), as restoreDisk's option. Default false. */
  verifyDigests?: boolean;
  /** Worker threads of the pool this source makes (default 2). Not used with `pool`. */
  workers?: number;
  /** A pool shared with other sources (the disks of one VM); its owner closes it, close() leaves it open. */
  pool?: ChunkPool;
};

export type PointDiskSourceStats = {
  /** Block lookups answered from the cache, or by a decode of that block already under way. */
  cacheHits: number;
  /** Block lookups that read a chunk file. */
  cacheMisses: number;
  /** Bytes of chunk files read from the repository. */
  bytesRead: number;
  cachedBytes: number;
};

const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;
/** Chunk files read and decoded at once, as restoreDisk does: enough to keep two workers and the disk busy. */
const LANES = 6;

/**
 * A restore point's disk as an NBD export source (ExportSource of @strongbox/nbd), for
 * Instant VM recovery and file-level restore: zero blocks answer from the index without
 * any read, data blocks are read from the chunk store, checked and decoded on the worker
 * threads, and kept in a bounded LRU cache. Concurrent requests for one block share one
 * read and decode. A bad or missing chunk rejects the reads that need it with a
 * RepositoryError (CHUNK_BAD) naming the chunk; the NBD server answers them with EIO.
 */
export class PointDiskSource {
  readonly size: number;
  readonly blockSize: number;
  private readonly pool: ChunkPool;
  private readonly ownsPool: boolean;
  private readonly cacheBytes: number;
  private readonly verifyDigests: boolean;
  /** Block number → decoded block; a Map iterates in insertion order, so re-inserting on a hit keeps it in LRU order. */
  private readonly cache = new Map<number, Buffer>();
  private cached = 0;
  private readonly loading = new Map<number, Promise<Buffer>>();
  private readonly lanes = new Semaphore(LANES);
  /** Chunk file buffers of idle lanes, made as lanes are first used. */
  private readonly spareFiles: Buffer[] = [];
  private closed = false;
  private hits = 0;
  private misses = 0;
  private bytesRead = 0;

  constructor(
    private readonly disk: PointDisk,
    opts: PointDiskSourceOptions = {},
  ) {
    this.size = disk.size;
    this.blockSize = disk.blockSize;
    this.pool = opts.pool ?? new ChunkPool(opts.workers ?? 2);
    this.ownsPool = !opts.pool;
    this.cacheBytes = opts.cacheBytes ?? DEFAULT_CACHE_BYTES;
    this.verifyDigests = opts.verifyDigests ?? false;
  }

  get stats(): PointDiskSourceStats {
    return { cacheHits: this.hits, cacheMisses: this.misses, bytesRead: this.bytesRead, cachedBytes: this.cached };
  }

  /** Bytes [offset, offset+length) of the disk. */
  async read(offset: number, length: number): Promise<Buffer> {
    this.checkRange(offset, length);
    const out = Buffer.alloc(length);
    if (length === 0) return out;
    const bs = this.blockSize;
    const first = Math.floor(offset / bs);
    const last = Math.floor((offset + length - 1) / bs);
    const copies: Promise<void>[] = [];
    for (let b = first; b <= last; b++) {
      if (this.disk.digestAt(b) === null) continue;
      const from = Math.max(offset, b * bs);
      const to = Math.min(offset + length, (b + 1) * bs);
      copies.push(this.block(b).then((data) => void data.copy(out, from - offset, from - b * bs, to - b * bs)));
    }
    await Promise.all(copies);
    return out;
  }

  /** Runs of zero blocks and data blocks over [offset, offset+length), from the index alone. */
  async extents(offset: number, length: number): Promise<{ length: number; zero: boolean }[]> {
    this.checkRange(offset, length);
    const out: { length: number; zero: boolean }[] = [];
    const bs = this.blockSize;
    for (let at = offset; at < offset + length;) {
      const b = Math.floor(at / bs);
      const end = Math.min(offset + length, (b + 1) * bs);
      const zero = this.disk.digestAt(b) === null;
      const prev = out[out.length - 1];
      if (prev && prev.zero === zero) prev.length += end - at;
      else out.push({ length: end - at, zero });
      at = end;
    }
    return out;
  }

  /** Waits for reads under way, drops the cache and ends the worker threads (unless the pool was given). Later reads are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A ChunkPool closed under a decode never answers it, so the decodes under way finish first.
    await Promise.allSettled([...this.loading.values()]);
    this.cache.clear();
    this.cached = 0;
    if (this.ownsPool) await this.pool.close();
  }

  private checkRange(offset: number, length: number): void {
    if (this.closed) throw new PipelineError('CANCELLED', `the export of disk ${this.disk.name} is closed`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new PipelineError('BAD_ARGUMENT', `read ${offset}+${length} is outside disk ${this.disk.name} (${this.size} bytes)`);
    }
  }

  /** The decoded bytes of data block b: from the cache, from a decode already under way, or read and decoded now. */
  private block(b: number): Promise<Buffer> {
    const hit = this.cache.get(b);
    if (hit) {
      this.cache.delete(b);
      this.cache.set(b, hit);
      this.hits++;
      return Promise.resolve(hit);
    }
    const pending = this.loading.get(b);
    if (pending) {
      this.hits++;
      return pending;
    }
    this.misses++;
    // A failed load is not remembered: the next request tries again (a transient I/O error heals, a bad chunk fails again).
    const load = this.load(b)
      .then((data) => {
        this.remember(b, data);
        return data;
      })
      .finally(() => this.loading.delete(b));
    this.loading.set(b, load);
    return load;
  }

  private async load(b: number): Promise<Buffer> {
    const digest = this.disk.digestAt(b)!;
    const hex = digest.toString('hex');
    const length = this.disk.blockLength(b);
    const where = `disk ${this.disk.name} at ${b * this.blockSize}`;
    await this.lanes.acquire();
    let file = this.spareFiles.pop() ?? transferable(maxChunkBytes(this.blockSize));
    try {
      if (this.closed) throw new PipelineError('CANCELLED', `the export of disk ${this.disk.name} is closed`);
      const n = await this.disk.store.read(hex, file);
      if (n === null) throw new RepositoryError('CHUNK_BAD', `chunk ${hex} (${where}) is missing`);
      this.bytesRead += n;
      const r = await this.pool.decode(file, n, transferable(length), this.verifyDigests ? Buffer.from(digest) : null);
      file = r.file;
      if (!r.result.ok) throw new RepositoryError('CHUNK_BAD', `chunk ${hex} (${where}) is bad: ${r.result.problem}, ${r.result.detail}`);
      if (r.result.rawLength !== length) throw new RepositoryError('CHUNK_BAD', `chunk ${hex} holds ${r.result.rawLength} bytes, ${where} needs ${length}`);
      return r.out;
    } finally {
      // A buffer lost in a failed worker call is detached (length 0): only a usable one goes back.
      if (file.length > 0) this.spareFiles.push(file);
      this.lanes.release();
    }
  }

  private remember(b: number, data: Buffer): void {
    if (this.closed || data.length > this.cacheBytes) return;
    this.cache.set(b, data);
    this.cached += data.length;
    for (const [old, d] of this.cache) {
      if (this.cached <= this.cacheBytes) break;
      this.cache.delete(old);
      this.cached -= d.length;
    }
  }
}
