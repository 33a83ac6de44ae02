import { ChunkPool, maxChunkBytes, transferable, type PointReader } from '@strongbox/repository';
import { BufferPool } from './buffers.js';
import { readBlock } from './read-block.js';
import { PipelineError, cancelled } from './errors.js';
import type { RestoreProgress } from './restore-disk.js';
import type { Throttle } from './throttle.js';

/**
 * Where restoreDiskToNbd writes: @strongbox/nbd's NbdDiskWriter is one (the pipeline does
 * not depend on the NBD package). writeBlock may resolve before the write is done;
 * `release` hands the buffer back once it is.
 */
export type BlockTarget = {
  readonly size: number;
  writeBlock(offset: number, data: Buffer, release?: (data: Buffer) => void): Promise<void>;
  zero(offset: number, length: number): Promise<void>;
  /** Waits for every write, then flushes once. */
  finish(): Promise<unknown>;
  /** Stops writing; settles when nothing is in flight. */
  abort(reason?: Error): Promise<void>;
};

export type RestoreToNbdOptions = {
  /**
   * `skip`: zero blocks are not written, so they stay unallocated (a hole, a qcow2 cluster
   * never written) — for a freshly created target, which reads as zeros. `write-zeroes`:
   * each zero block is zeroed — for a target with old content, which must not show through.
   */
  zeroBlocks: 'skip' | 'write-zeroes';
  /** Only these blocks are written or zeroed (a quick rollback: the blocks that differ, e.g. from differingBlocks or dirtyBlocks). */
  only?: (block: number) => boolean;
  onProgress?: (p: RestoreProgress) => void;
  signal?: AbortSignal;
  /** Paces the bytes read from the repository (a repository's read-rate limit). */
  throttle?: Throttle;
  /** Also check each block's SHA-256 (CRC32C is always checked). */
  verifyDigests?: boolean;
  workers?: number;
};

export type RestoreToNbdResult = {
  /** Bytes of data written (zeroed bytes not included). */
  bytes: number;
  bytesZeroed: number;
  blocksWritten: number;
  blocksZeroed: number;
  /** Zero blocks left alone (`zeroBlocks: 'skip'`) and blocks outside `only`. */
  blocksSkipped: number;
  throttledMs: number;
  durationMs: number;
};

// As restoreDisk: chunk files read and decoded at once, and blocks decoded ahead of the write position.
const LANES = 6;
const WINDOW = 16;

/**
 * Writes a point's disk to a block target (an NBD export) in disk order: chunk files are
 * read several at a time and decoded on the worker threads, writes are pipelined by the
 * target, and the target is flushed once, at the end. On failure or abort nothing more
 * is written and nothing is flushed.
 */
export async function restoreDiskToNbd(reader: PointReader, diskName: string, target: BlockTarget, opts: RestoreToNbdOptions): Promise<RestoreToNbdResult> {
  const started = performance.now();
  const disk = reader.disk(diskName);
  const { signal, throttle } = opts;
  if (opts.zeroBlocks !== 'skip' && opts.zeroBlocks !== 'write-zeroes') {
    throw new PipelineError('BAD_ARGUMENT', `zeroBlocks must be 'skip' or 'write-zeroes', not ${String(opts.zeroBlocks)}`);
  }
  if (signal?.aborted) throw cancelled(`restore of ${diskName}`);
  if (target.size < disk.size) throw new PipelineError('TARGET', `the target holds ${target.size} bytes, disk ${diskName} needs ${disk.size}`);

  const wanted = new Uint8Array(disk.blockCount);
  let totalBytes = 0;
  for (let b = 0; b < disk.blockCount; b++) {
    if (opts.only && !opts.only(b)) continue;
    wanted[b] = 1;
    totalBytes += disk.blockLength(b);
  }
  const result: RestoreToNbdResult = { bytes: 0, bytesZeroed: 0, blocksWritten: 0, blocksZeroed: 0, blocksSkipped: 0, throttledMs: 0, durationMs: 0 };
  let bytesDone = 0;
  let failure: Error | null = null;
  const ready = new Map<number, Buffer>();
  let wake: (() => void) | null = null;
  const signalReady = () => {
    wake?.();
    wake = null;
  };
  const fail = (e: unknown) => {
    if (failure) return;
    failure = e instanceof Error ? e : new Error(String(e));
    signalReady();
    // At once, so that a writeBlock waiting for room throws instead of sending one more block.
    // Here it only has to start: the catch below aborts again, awaits the end and reports a failure.
    target.abort(failure).catch(() => undefined);
  };
  const onAbort = () => fail(cancelled(`restore of ${diskName}`));
  signal?.addEventListener('abort', onAbort, { once: true });
  const report = () => {
    const s = (performance.now() - started) / 1000;
    opts.onProgress?.({ bytesDone, totalBytes, rate: s > 0 ? bytesDone / s : 0 });
  };
  const timer = opts.onProgress ? setInterval(report, 1000) : null;
  timer?.unref();
  const pool = new ChunkPool(opts.workers ?? 2);
  try {
    // Buffers are taken before a block number, so the blocks holding buffers are always
    // the lowest outstanding ones and the in-order writer below can never starve.
    const buffers = new BufferPool(WINDOW, () => transferable(disk.blockSize));
    const files = Array.from({ length: LANES }, () => transferable(maxChunkBytes(disk.blockSize)));
    let next = 0;
    const nextDataBlock = () => {
      while (next < disk.blockCount && (!wanted[next] || disk.digestAt(next) === null)) next++;
      return next < disk.blockCount ? next++ : -1;
    };
    const fetcher = async (lane: number) => {
      while (!failure) {
        let out = await buffers.take();
        const b = nextDataBlock();
        if (b < 0 || failure) {
          buffers.give(out);
          return;
        }
        const read = await readBlock(disk, b, { file: files[lane]!, out }, pool, { verifyDigests: opts.verifyDigests, throttle, signal });
        result.throttledMs += read.throttledMs;
        files[lane] = read.lane.file;
        out = read.lane.out;
        ready.set(b, out);
        signalReady();
      }
    };
    // A run of zero blocks goes out as one zero request (the client splits it at the server's limit).
    let zeroRun: { offset: number; length: number } | null = null;
    const endZeroRun = async () => {
      if (!zeroRun || failure) return;
      const run = zeroRun;
      zeroRun = null;
      await target.zero(run.offset, run.length);
      result.bytesZeroed += run.length;
    };
    // In disk order, as restoreDisk: a qcow2 target allocates its clusters in that order too.
    const writer = async () => {
      for (let b = 0; b < disk.blockCount && !failure; b++) {
        const len = disk.blockLength(b);
        const offset = b * disk.blockSize;
        if (!wanted[b]) {
          await endZeroRun();
          result.blocksSkipped++;
          continue;
        }
        if (disk.digestAt(b) === null) {
          if (opts.zeroBlocks === 'skip') result.blocksSkipped++;
          else {
            if (zeroRun) zeroRun.length += len;
            else zeroRun = { offset, length: len };
            result.blocksZeroed++;
          }
          bytesDone += len;
          continue;
        }
        await endZeroRun();
        while (!ready.has(b) && !failure) await new Promise<void>((resolve) => (wake = resolve));
        const out = ready.get(b);
        if (!out || failure) return;
        ready.delete(b);
        await target.writeBlock(offset, len === out.length ? out : out.subarray(0, len), () => buffers.give(out));
        result.blocksWritten++;
        result.bytes += len;
        bytesDone += len;
      }
      await endZeroRun();
    };
    await Promise.all([writer().catch(fail), ...files.map((_, lane) => fetcher(lane).catch(fail))]);
    if (failure) throw failure;
    await target.finish();
  } catch (e) {
    // Nothing more goes out; what is in flight is waited for, so the caller may close the connection.
    await target.abort(e as Error);
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (timer) clearInterval(timer);
    await pool.close();
  }
  report();
  result.durationMs = performance.now() - started;
  return result;
}
