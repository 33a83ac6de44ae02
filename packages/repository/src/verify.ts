import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ChunkPool, transferable } from './chunk-pool.js';
import { ChunkStore } from './chunk-store.js';
import { maxChunkBytes } from './codec/chunk-codec.mjs';
import { RepositoryError, errnoOf, ioError } from './errors.js';
import { digestAt } from './index-file.js';
import { badDir } from './point-writer.js';
import { readManifest, readPointIndexes, scanPoints } from './points.js';
import type { PointManifest, VerifyProblem, VerifyReport } from './types.js';

type Ref = { point: number; disk: number; block: number };
type DiskRef = { name: string; size: number; blockSize: number };

const CONCURRENCY = 4;

/**
 * Re-reads every chunk the points reference and checks its header, CRC32C, length and
 * SHA-256. A bad or missing chunk is reported with the points and disk ranges it breaks
 * and marked in gc/bad/, so the next backup that reads the same block writes it again.
 */
export type VerifyOptions = {
  pointIds?: string[];
  /** After each chunk: chunks checked of all, and the raw bytes those chunks hold of all (a progress bar's figures). */
  onProgress?: (done: number, total: number, bytes: { done: number; total: number }) => void;
  /** Awaited before each chunk read is decoded, with its size: a caller's read-rate limit. */
  pace?: (bytes: number) => Promise<unknown>;
  /** Ends the check between chunks, with `CANCELLED`; nothing is marked. */
  signal?: AbortSignal;
};

export async function verifyPoints(root: string, opts: VerifyOptions): Promise<VerifyReport> {
  const points: PointManifest[] = opts.pointIds ? await Promise.all(opts.pointIds.map((id) => readManifest(root, id))) : (await scanPoints(root)).points;
  const disks: DiskRef[][] = points.map((p) => p.disks.map((d) => ({ name: d.name, size: d.size, blockSize: d.blockSize })));
  const refs = new Map<string, Ref[]>();
  let maxBlock = 0;
  for (const [pi, p] of points.entries()) {
    const indexes = await readPointIndexes(root, p);
    for (const [di, d] of p.disks.entries()) {
      const index = indexes.get(d.name)!;
      maxBlock = Math.max(maxBlock, index.blockSize);
      for (let i = 0; i < index.blockCount; i++) {
        const digest = digestAt(index, i);
        if (!digest) continue;
        const key = digest.toString('hex');
        const list = refs.get(key);
        const ref = { point: pi, disk: di, block: i };
        if (list) list.push(ref);
        else refs.set(key, [ref]);
      }
    }
  }
  const store = new ChunkStore(root);
  const total = refs.size;
  // A chunk holds one block: the first disk that references it says how long (a disk's last block may be short).
  const rawLength = (hex: string) => {
    const ref = refs.get(hex)![0]!;
    const d = disks[ref.point]![ref.disk]!;
    return Math.min(d.blockSize, d.size - ref.block * d.blockSize);
  };
  const bytes = { done: 0, total: 0 };
  for (const hex of refs.keys()) bytes.total += rawLength(hex);
  const bad: { hex: string; problem: VerifyProblem }[] = [];
  const good: string[] = [];
  let done = 0;
  const pool = new ChunkPool();
  try {
    const files = Array.from({ length: CONCURRENCY }, () => transferable(maxChunkBytes(maxBlock)));
    const outs = Array.from({ length: CONCURRENCY }, () => transferable(maxBlock));
    const queue = [...refs.keys()];
    const lane = async (k: number) => {
      for (let hex = queue.pop(); hex !== undefined; hex = queue.pop()) {
        if (opts.signal?.aborted)
          throw new RepositoryError('CANCELLED', `verify was stopped: ${String((opts.signal.reason as Error | undefined)?.message ?? 'aborted')}`);
        const n = await store.read(hex, files[k]!);
        if (n !== null) await opts.pace?.(n);
        if (n === null) {
          bad.push({ hex, problem: 'missing' });
        } else {
          const r = await pool.decode(files[k]!, n, outs[k]!, Buffer.from(hex, 'hex'));
          files[k] = r.file;
          outs[k] = r.out;
          if (r.result.ok) good.push(hex);
          else bad.push({ hex, problem: r.result.problem });
        }
        bytes.done += rawLength(hex);
        opts.onProgress?.(++done, total, { ...bytes });
      }
    };
    await Promise.all(files.map((_, k) => lane(k)));
  } finally {
    await pool.close();
  }
  await recordMarks(root, bad, good);
  bad.sort((a, b) => (a.hex < b.hex ? -1 : 1));
  return {
    chunksChecked: total,
    bad: bad.map(({ hex, problem }) => {
      const list = refs.get(hex)!;
      return {
        digest: hex,
        problem,
        points: [...new Set(list.map((r) => points[r.point]!.id))],
        ranges: toRanges(list, points, disks),
      };
    }),
  };
}

/** Consecutive blocks of one disk of one point make one range. */
type BadRange = VerifyReport['bad'][number]['ranges'][number];

function toRanges(list: Ref[], points: PointManifest[], disks: DiskRef[][]): BadRange[] {
  const out: BadRange[] = [];
  let last: { ref: Ref; range: BadRange } | null = null;
  for (const ref of list) {
    const d = disks[ref.point]![ref.disk]!;
    const offset = ref.block * d.blockSize;
    const length = Math.min(d.blockSize, d.size - offset);
    if (last && last.ref.point === ref.point && last.ref.disk === ref.disk && last.range.offset + last.range.length === offset) {
      last.range.length += length;
      last.ref = ref;
      continue;
    }
    const range: BadRange = { pointId: points[ref.point]!.id, disk: d.name, offset, length };
    out.push(range);
    last = { ref, range };
  }
  return out;
}

async function recordMarks(root: string, bad: { hex: string; problem: VerifyProblem }[], good: string[]): Promise<void> {
  const dir = badDir(root);
  try {
    if (bad.length > 0) await mkdir(dir, { recursive: true });
    for (const b of bad) await writeFile(join(dir, b.hex), JSON.stringify({ problem: b.problem, time: new Date().toISOString() }));
    const marked = new Set(await readdir(dir).catch((e: unknown) => (errnoOf(e) === 'ENOENT' ? [] : Promise.reject(e))));
    for (const hex of good) if (marked.has(hex)) await rm(join(dir, hex), { force: true });
  } catch (e) {
    throw ioError(e, 'recording bad chunks');
  }
}
