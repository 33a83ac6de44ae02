import type { DiskExtent, DiskReader } from '@strongbox/core';
import { ChunkPool, transferable, type DiskWriter, type PointWriter } from '@strongbox/repository';
import { CARRY, READ, ZERO, planBlocks, type Segment } from './block-plan.js';
import { BufferPool, Semaphore } from './buffers.js';
import { PipelineError, cancelled } from './errors.js';
import { Meter, type Progress } from './progress.js';
import type { Throttle } from './throttle.js';

export type BackupStats = Progress & { newChunks: number; carriedBlocks: number; zeroBlocks: number; durationMs: number };

export type BackupOptions = {
  onProgress?: (p: Progress) => void;
  progressMs?: number;
  throttle?: Throttle;
  signal?: AbortSignal;
  /** Worker threads for hashing and compression (default 2: both cores of a small proxy). */
  workers?: number;
};

type FastReader = DiskReader & { readInto?: (offset: number, target: Buffer) => Promise<Buffer> };

// Read-ahead of ~16 MiB whatever the block size: enough to keep both workers and the
// source busy, small enough for the 256 MB RSS budget with several disks at once.
const QUEUE_BYTES = 16 * 1024 * 1024;
const READS_IN_FLIGHT = 4;
const WRITES_IN_FLIGHT = 8;

/**
 * Backs up one disk into a point: reader → (workers) zero check + SHA-256 → dedup →
 * (workers) zstd + CRC32C → chunk files, with bounded queues between the stages.
 */
export async function backupDisk(writer: PointWriter, diskName: string, reader: DiskReader, opts: BackupOptions = {}): Promise<{ stats: BackupStats }> {
  const { signal, throttle } = opts;
  if (signal?.aborted) throw cancelled(`backup of ${diskName}`);
  const disk = writer.openDisk(diskName, reader.size);
  if (reader.mode === 'changed' && !disk.parentIndex) {
    throw new PipelineError(
      'PARENT_REQUIRED',
      `disk ${diskName}: the reader lists changed blocks, but point ${writer.id} has no parent with this disk at this block size to carry the rest from`,
    );
  }
  const extents: DiskExtent[] = [];
  for await (const e of reader.extents()) extents.push(e);
  const plan = planBlocks(reader.size, disk.blockSize, reader.mode, extents, (b) => disk.carry(b));
  let zeroBlocks = 0;
  let carriedBlocks = 0;
  let newChunks = 0;
  for (let b = 0; b < plan.blockCount; b++) {
    if (plan.actions[b] === ZERO) zeroBlocks++;
    else if (plan.actions[b] === CARRY) carriedBlocks++;
  }

  const pool = new ChunkPool(opts.workers ?? 2);
  const meter = new Meter(plan.readBytes, () => ({ ms: pool.busyMs, workers: pool.size }));
  const bs = disk.blockSize;
  const inputs = new BufferPool(Math.max(4, Math.min(64, Math.ceil(QUEUE_BYTES / bs))), () => transferable(bs));
  const outputs = new BufferPool(WRITES_IN_FLIGHT, () => transferable(disk.maxChunkBytes));
  const reads = new Semaphore(READS_IN_FLIGHT);
  const writes = new Semaphore(WRITES_IN_FLIGHT);
  let failure: Error | null = null;
  const onAbort = () => (failure ??= cancelled(`backup of ${diskName}`));
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = opts.onProgress ? setInterval(() => opts.onProgress!(meter.snapshot()), opts.progressMs ?? 1000) : null;
  timer?.unref();

  const readBlock = async (b: number, buf: Buffer): Promise<number> => {
    const offset = b * bs;
    const len = Math.min(bs, reader.size - offset);
    const parts: Segment[] = plan.partial.get(b) ?? [{ offset, length: len }];
    if (parts.length !== 1 || parts[0]!.length !== len) buf.fill(0, 0, len);
    meter.source.enter();
    try {
      for (const p of parts) await readInto(reader as FastReader, p.offset, buf.subarray(p.offset - offset, p.offset - offset + p.length));
    } catch (e) {
      throw new PipelineError('SOURCE_READ', `disk ${diskName}: reading block at ${offset}: ${(e as Error).message}`, { cause: e });
    } finally {
      meter.source.leave();
    }
    for (const p of parts) meter.bytesRead += p.length;
    return len;
  };

  const storeBlock = async (b: number, input: Buffer, len: number, d: DiskWriter): Promise<void> => {
    let buf: Buffer | null = input;
    try {
      const hashed = await pool.hash(buf, len);
      buf = hashed.buf;
      meter.bytesProcessed += len;
      const digest = hashed.digest;
      if (!digest) {
        zeroBlocks++;
        d.setBlock(b, null);
        return;
      }
      meter.target.enter();
      const needed = await d.need(digest).finally(() => meter.target.leave());
      if (!needed) {
        d.setBlock(b, digest);
        return;
      }
      let out = await outputs.take();
      try {
        const enc = await pool.encode(buf, len, d.level, out);
        buf = enc.buf;
        out = enc.out;
        inputs.give(buf);
        buf = null;
        await writes.acquire();
        meter.target.enter();
        try {
          await d.put(digest, out.subarray(0, enc.n), len);
        } finally {
          meter.target.leave();
          writes.release();
        }
        meter.bytesTransferred += enc.n;
        meter.bytesWritten += enc.n;
        newChunks++;
        d.setBlock(b, digest);
      } catch (e) {
        d.abandon(digest, e as Error);
        throw e;
      } finally {
        outputs.give(out.buffer.byteLength > 0 ? out : transferable(d.maxChunkBytes));
      }
    } finally {
      // A buffer lost in a failed worker call is replaced, so the read loop never waits on it.
      if (buf) inputs.give(buf.buffer.byteLength > 0 ? buf : transferable(bs));
    }
  };

  const inFlight = new Set<Promise<void>>();
  try {
    for (let b = 0; b < plan.blockCount && !failure; b++) {
      if (plan.actions[b] !== READ) continue;
      const buf = await inputs.take();
      if (failure) {
        inputs.give(buf);
        break;
      }
      const want = plan.partial.get(b)?.reduce((n, p) => n + p.length, 0) ?? Math.min(bs, reader.size - b * bs);
      if (throttle) {
        try {
          meter.throttledMs += await throttle.take(want, signal);
        } catch (e) {
          inputs.give(buf);
          failure ??= e as Error;
          break;
        }
      }
      await reads.acquire();
      const job: Promise<void> = (async () => {
        let len: number;
        try {
          len = await readBlock(b, buf);
        } catch (e) {
          inputs.give(buf);
          throw e;
        } finally {
          reads.release();
        }
        await storeBlock(b, buf, len, disk);
      })()
        .catch((e: unknown) => {
          failure ??= e as Error;
        })
        .finally(() => inFlight.delete(job));
      inFlight.add(job);
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
    await disk.finish();
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (timer) clearInterval(timer);
    await pool.close();
  }
  const final = meter.snapshot(true);
  opts.onProgress?.(final);
  return { stats: { ...final, newChunks, carriedBlocks, zeroBlocks, durationMs: performance.now() - meter.started } };
}

async function readInto(reader: FastReader, offset: number, target: Buffer): Promise<void> {
  if (reader.readInto) {
    const got = await reader.readInto(offset, target);
    if (got !== target && got.buffer !== target.buffer) got.copy(target);
    return;
  }
  const data = await reader.read(offset, target.length);
  if (data.length !== target.length) throw new PipelineError('SOURCE_READ', `read ${offset}+${target.length} returned ${data.length} bytes`);
  data.copy(target);
}
