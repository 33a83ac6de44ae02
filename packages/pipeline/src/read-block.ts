import { RepositoryError, type ChunkPool, type PointDisk } from '@strongbox/repository';
import type { Throttle } from './throttle.js';

/** A lane's buffers: the chunk file read into `file`, its block decoded into `out` (both travel to the worker and back). */
export type Lane = { file: Buffer; out: Buffer };

/**
 * Reads block `b`'s chunk from the store and decodes it on the worker pool, checked (CRC32C
 * always, SHA-256 when asked) and of the length the disk expects. The lane's buffers come
 * back from the worker in the answer. What every restore of a point's disk shares.
 */
export async function readBlock(
  disk: PointDisk,
  b: number,
  lane: Lane,
  pool: ChunkPool,
  opts: { verifyDigests?: boolean | undefined; throttle?: Throttle | undefined; signal?: AbortSignal | undefined } = {},
): Promise<{ lane: Lane; throttledMs: number }> {
  const digest = disk.digestAt(b)!;
  const hex = digest.toString('hex');
  const offset = b * disk.blockSize;
  const n = await disk.store.read(hex, lane.file);
  if (n === null) throw new RepositoryError('CHUNK_BAD', `chunk ${hex} (disk ${disk.name} at ${offset}) is missing`);
  const throttledMs = opts.throttle ? await opts.throttle.take(n, opts.signal) : 0;
  const r = await pool.decode(lane.file, n, lane.out, opts.verifyDigests ? Buffer.from(digest) : null);
  if (!r.result.ok) throw new RepositoryError('CHUNK_BAD', `chunk ${hex} (disk ${disk.name} at ${offset}) is bad: ${r.result.problem}, ${r.result.detail}`);
  if (r.result.rawLength !== disk.blockLength(b))
    throw new RepositoryError('CHUNK_BAD', `chunk ${hex} holds ${r.result.rawLength} bytes, disk ${disk.name} at ${offset} needs ${disk.blockLength(b)}`);
  return { lane: { file: r.file, out: r.out }, throttledMs };
}
