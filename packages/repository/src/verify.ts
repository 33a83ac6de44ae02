import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ChunkPool, transferable } from './chunk-pool.js';
import { ChunkStore } from './chunk-store.js';
import { maxChunkBytes } from './codec/chunk-codec.mjs';
import { errnoOf, ioError } from './errors.js';
import { digestAt } from './index-file.js';
import { badDir } from './point-writer.js';
import type { VerifyProblem, VerifyReport } from './types.js';
import { cancelled, loadPoints, type ReadablePoint } from './verify-load.js';
import { buildReport, type Ref } from './verify-report.js';

const CONCURRENCY = 4;

export type VerifyOptions = {
  pointIds?: string[];
  /** After each chunk: chunks checked of all, and the raw bytes those chunks hold of all (a progress bar's figures). */
  onProgress?: (done: number, total: number, bytes: { done: number; total: number }) => void;
  /** Awaited before each chunk read is decoded, with its size: a caller's read-rate limit. */
  pace?: (bytes: number) => Promise<unknown>;
  /** Ends the check between chunks, with `CANCELLED`; nothing is marked. */
  signal?: AbortSignal;
};

/**
 * Re-reads every chunk the points reference and checks its header, CRC32C, length and
 * SHA-256. A bad or missing chunk is reported with the points and disk ranges it breaks
 * and marked in gc/bad/, so the next backup that reads the same block writes it again.
 * A point whose point.json or index cannot be read is reported (unreadable, damaged) and
 * the others are still checked: one damaged file must not hide the state of the rest.
 */
export async function verifyPoints(root: string, opts: VerifyOptions): Promise<VerifyReport> {
  const loaded = await loadPoints(root, opts.pointIds, opts.signal);
  const readable = loaded.filter((l): l is ReadablePoint => l.error === null);
  const refs = new Map<string, Ref[]>();
  let maxBlock = 0;
  for (const [pi, p] of readable.entries()) {
    for (const [di, d] of p.disks.entries()) {
      const index = d.index;
      if (!index) continue; // an index that cannot be trusted says nothing about which chunks the disk needs
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
    const d = readable[ref.point]!.disks[ref.disk]!;
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
        if (opts.signal?.aborted) throw cancelled(opts.signal);
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
  return buildReport(loaded, readable, refs, bad);
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
