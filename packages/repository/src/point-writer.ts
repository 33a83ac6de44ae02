import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ChunkStore } from './chunk-store.js';
import { DiskWriter, type WriterShared } from './disk-writer.js';
import { RepositoryError, errnoOf, ioError } from './errors.js';
import { POINT_FILE, POINT_FORMAT_VERSION, ZSTD_LEVEL, checkName, pointDir, timeToDirName } from './format.js';
import { digestAt, type DiskIndex } from './index-file.js';
import { takeLease, type Lease } from './leases.js';
import { formatManifest } from './manifest.js';
import { readManifest, readPointIndex } from './points.js';
import { syncFilesystem, writeFileAtomic } from './fs-util.js';
import type { BlockSize, Codec, PointKind, PointManifest } from './types.js';

export type BeginPointOptions = {
  vmId: string;
  kind: PointKind;
  parent: string | null;
  config: string | null;
  job?: Record<string, unknown>;
  blockSize?: BlockSize;
  codec?: Codec;
  time?: Date;
};

/** Staging copies of the parent's indexes: GC marks them while the lease lives (gc.ts). */
const PARENT_PREFIX = '.parent-';

const FLUSH_EVERY = 128 * 1024 * 1024;

/** Bad-chunk marks written by verify: gc/bad/<sha256hex>. */
export const badDir = (root: string): string => join(root, 'gc', 'bad');

/**
 * A restore point being written: chunks first, then the disk indexes, one filesystem
 * sync, then point.json renamed into place. Until that rename the point does not exist.
 */
export class PointWriter {
  private readonly disks = new Map<string, DiskWriter>();
  private state: 'open' | 'committed' | 'aborted' = 'open';
  private readonly shared: WriterShared;

  private constructor(
    readonly root: string,
    readonly id: string,
    readonly dir: string,
    private readonly opts: BeginPointOptions & { time: Date; defaultBlockSize: BlockSize; codec: Codec },
    private readonly lease: Lease,
    private readonly parentIndexes: Map<string, DiskIndex>,
    bad: Set<string>,
  ) {
    const known = new Set<string>();
    for (const index of parentIndexes.values()) {
      for (let i = 0; i < index.blockCount; i++) {
        const d = digestAt(index, i);
        if (d) known.add(d.toString('latin1'));
      }
    }
    for (const k of bad) known.delete(k);
    this.shared = {
      store: new ChunkStore(root),
      pointId: id,
      dir,
      known,
      bad,
      foundInStore: new Set(),
      repaired: new Set(),
      pending: new Map(),
      written: (bytes) => this.written(bytes),
    };
  }

  private unflushed = 0;
  private flushing: Promise<void> | null = null;
  private flushError: unknown = null;

  /**
   * Starts a filesystem flush in the background every FLUSH_EVERY bytes of chunks, so
   * the disk writes while the CPU compresses and the flush at commit has little left.
   * (The kernel's own writeback starts only at 10% of RAM dirty, which a backup of a few
   * GiB on a big host never reaches, leaving it all to the commit.)
   */
  private written(bytes: number): void {
    this.unflushed += bytes;
    if (this.unflushed < FLUSH_EVERY || this.flushing) return;
    this.unflushed = 0;
    this.flushing = syncFilesystem(this.root)
      .catch((e: unknown) => {
        // Kept for commit(), which must not report a point durable after a failed flush.
        this.flushError ??= e;
      })
      .finally(() => (this.flushing = null));
  }

  static async begin(root: string, defaults: { blockSize: BlockSize }, o: BeginPointOptions): Promise<PointWriter> {
    checkName('vmId', o.vmId);
    if (o.kind === 'incremental' && o.parent === null) throw new RepositoryError('BAD_ARGUMENT', 'an incremental point needs a parent');
    const parent = o.parent === null ? null : await readManifest(root, o.parent);
    const explicitTime = o.time !== undefined;
    let time = o.time ?? new Date();
    const opts = { ...o, time, defaultBlockSize: defaults.blockSize, codec: o.codec ?? 'optimal' };
    await mkdir(join(root, 'points', o.vmId), { recursive: true }).catch((e: unknown) => {
      throw ioError(e, `creating the folder of VM ${o.vmId}`);
    });
    // Two points of one VM in the same millisecond: the later one moves on a millisecond.
    for (let attempt = 0; ; attempt++) {
      const id = `${o.vmId}/${timeToDirName(time)}`;
      const lease = await takeLease(root, id, o.parent);
      const dir = pointDir(root, id);
      try {
        await mkdir(dir);
      } catch (e) {
        await lease.release();
        if (errnoOf(e) === 'EEXIST' && !explicitTime && attempt < 1000) {
          time = new Date(time.getTime() + 1);
          continue;
        }
        if (errnoOf(e) === 'EEXIST') throw new RepositoryError('POINT_EXISTS', `a restore point ${id} already exists`, { cause: e });
        throw ioError(e, `creating ${dir}`);
      }
      try {
        const parentIndexes = new Map<string, DiskIndex>();
        for (const d of parent?.disks ?? []) {
          // Read after the lease is taken (GC's safety depends on it, gc.ts), checked against the
          // parent's point.json, and the copy made of the very bytes checked: a damaged parent is
          // POINT_CORRUPT here rather than carried into this point.
          const { file, index } = await readPointIndex(root, parent!, d);
          const copy = join(dir, `${PARENT_PREFIX}${d.index}`);
          await writeFile(`${copy}.tmp`, file);
          await rename(`${copy}.tmp`, copy);
          parentIndexes.set(d.name, index);
        }
        const bad = new Set<string>();
        for (const name of await readdir(badDir(root)).catch((e: unknown) => (errnoOf(e) === 'ENOENT' ? [] : Promise.reject(e)))) {
          if (/^[0-9a-f]{64}$/.test(name)) bad.add(Buffer.from(name, 'hex').toString('latin1'));
        }
        return new PointWriter(root, id, dir, { ...opts, time }, lease, parentIndexes, bad);
      } catch (e) {
        await rm(dir, { recursive: true, force: true });
        await lease.release();
        throw ioError(e, `starting restore point ${id}`);
      }
    }
  }

  get parentId(): string | null {
    return this.opts.parent;
  }

  /** Starts a disk of this point. Its block size is the parent's for that disk, so that unchanged blocks carry over. */
  openDisk(name: string, size: number): DiskWriter {
    this.checkOpen();
    checkName('disk', name);
    if (this.disks.has(name)) throw new RepositoryError('DISK_EXISTS', `disk ${name} is already part of point ${this.id}`);
    if (!Number.isSafeInteger(size) || size < 0) throw new RepositoryError('BAD_ARGUMENT', `disk size ${size}`);
    const inParent = this.parentIndexes.get(name) ?? null;
    const blockSize = this.opts.blockSize ?? inParent?.blockSize ?? this.opts.defaultBlockSize;
    // Carrying blocks over needs the same block grid; another size makes this disk a full read.
    const parentIndex = inParent?.blockSize === blockSize ? inParent : null;
    const disk = new DiskWriter(this.shared, name, size, blockSize, this.opts.codec, ZSTD_LEVEL[this.opts.codec], parentIndex);
    this.disks.set(name, disk);
    return disk;
  }

  async commit(): Promise<PointManifest> {
    this.checkOpen();
    try {
      for (const d of this.disks.values()) if (!d.finished) throw new RepositoryError('POINT_STATE', `disk ${d.name} of ${this.id} was not finished`);
      // A GC that swept a chunk we found on disk between its check and its unlink (gc.ts).
      for (const key of this.shared.foundInStore) {
        const hex = Buffer.from(key, 'latin1').toString('hex');
        if (!(await this.shared.store.exists(hex)))
          throw new RepositoryError('REPO_CHUNK_VANISHED', `chunk ${hex} was removed by a concurrent GC while ${this.id} was written; run the backup again`);
      }
      for (const name of await readdir(this.dir)) if (name.startsWith(PARENT_PREFIX)) await rm(join(this.dir, name), { force: true });
      await this.flushing;
      if (this.flushError) throw this.flushError;
      await syncFilesystem(this.root);
      const manifest: PointManifest = {
        formatVersion: POINT_FORMAT_VERSION,
        id: this.id,
        vmId: this.opts.vmId,
        time: this.opts.time.toISOString(),
        kind: this.opts.kind,
        parent: this.opts.parent,
        config: this.opts.config,
        job: this.opts.job ?? null,
        disks: [...this.disks.values()].map((d) => d.finished!),
      };
      await writeFileAtomic(join(this.dir, POINT_FILE), formatManifest(manifest), `writing ${this.id}/${POINT_FILE}`);
      this.state = 'committed';
      for (const key of this.shared.repaired) await rm(join(badDir(this.root), Buffer.from(key, 'latin1').toString('hex')), { force: true });
      await this.lease.release();
      return manifest;
    } catch (e) {
      if (this.state === 'open') await this.abort();
      throw ioError(e, `committing ${this.id}`);
    }
  }

  /** Drops the point's folder and lease. A no-op after commit, so callers may always call it on failure. */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    // A background flush still running would outlive us; its failure no longer matters.
    await this.flushing;
    try {
      await rm(this.dir, { recursive: true, force: true });
    } finally {
      await this.lease.release();
    }
  }

  private checkOpen(): void {
    if (this.state !== 'open') throw new RepositoryError('POINT_STATE', `point ${this.id} is already ${this.state}`);
  }
}
