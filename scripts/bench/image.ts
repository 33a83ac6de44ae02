import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fillPiece, fillRegion } from './content.js';
import { planLayout, type ImageSpec, type Layout, type RewritePiece } from './layout.js';
import { GENERATOR_VERSION } from './prng.js';

/**
 * The image on disk: generated once per (seed, size, generator version) and kept in the
 * bench directory with a sidecar recording those and its SHA-256; each run works on a
 * sparse copy, so the rewrite never touches the cached original.
 */

export type ImageInfo = { path: string; layout: Layout; sha256: string; generatedSeconds: number | null };

type Sidecar = { generatorVersion: number; seed: string; size: number; regionSize: number; repeatSize: number; sha256: string };

export async function ensureImage(dir: string, spec: ImageSpec, log: (line: string) => void): Promise<ImageInfo> {
  const path = join(dir, `image-${spec.seed}-${spec.size}.raw`);
  const sidecarPath = `${path}.json`;
  const layout = planLayout(spec);
  const want = { generatorVersion: GENERATOR_VERSION, seed: String(spec.seed), size: spec.size, regionSize: spec.regionSize, repeatSize: spec.repeatSize };
  if (existsSync(sidecarPath) && existsSync(path)) {
    const sidecar = JSON.parse(await readFile(sidecarPath, 'utf8')) as Sidecar;
    const same = Object.entries(want).every(([k, v]) => sidecar[k as keyof Sidecar] === v);
    if (same && (await stat(path)).size === spec.size) {
      log(`image: reusing ${path} (seed ${spec.seed}, generator v${GENERATOR_VERSION})`);
      return { path, layout, sha256: sidecar.sha256, generatedSeconds: null };
    }
  }
  // The sidecar goes first and comes back last: an interrupted generation is never reused.
  await rm(sidecarPath, { force: true });
  const started = performance.now();
  const sha256 = await writeImage(path, layout);
  const generatedSeconds = (performance.now() - started) / 1000;
  await writeFile(sidecarPath, `${JSON.stringify({ ...want, sha256 } satisfies Sidecar, null, 2)}\n`);
  log(`image: generated ${path} in ${generatedSeconds.toFixed(1)} s (${mbps(spec.size, generatedSeconds)} MB/s)`);
  return { path, layout, sha256, generatedSeconds };
}

/** Writes every region, zero regions as holes (a thin raw image, as qemu-img makes); returns the SHA-256. */
async function writeImage(path: string, layout: Layout): Promise<string> {
  const { regionSize, size } = layout.spec;
  const hash = createHash('sha256');
  const zeros = Buffer.alloc(regionSize);
  const buffers = [Buffer.allocUnsafe(regionSize), Buffer.allocUnsafe(regionSize)];
  const file = await open(path, 'w');
  try {
    await file.truncate(size);
    // Two buffers: the next region is generated while the last one is being written. They
    // alternate per write, not per region index: zero regions are skipped, and alternating by
    // index once filled the buffer still being written (the file then held another region).
    let pending: Promise<unknown> = Promise.resolve();
    let writes = 0;
    for (let i = 0; i < layout.kinds.length; i++) {
      if (layout.kinds[i] === 'zero') {
        hash.update(zeros);
        continue;
      }
      const buffer = buffers[writes++ % 2]!;
      fillRegion(layout, i, buffer);
      hash.update(buffer);
      await pending;
      pending = file.write(buffer, 0, regionSize, i * regionSize);
    }
    await pending;
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

/** Overwrites the pieces with new content: the guest's writes between the two backups. */
export async function applyRewrite(path: string, pieces: readonly RewritePiece[], seed: number | string): Promise<void> {
  const file = await open(path, 'r+');
  try {
    for (const [i, piece] of pieces.entries()) {
      const buffer = Buffer.allocUnsafe(piece.length);
      fillPiece(piece, seed, i, buffer);
      await file.write(buffer, 0, piece.length, piece.offset);
    }
  } finally {
    await file.close();
  }
}

/** SHA-256 of a file, read in 4 MiB pieces (memory stays flat whatever the size). */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(4 * 2 ** 20);
  const file = await open(path, 'r');
  let size = 0;
  try {
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, size);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await file.close();
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * SHA-256 of what a qcow2 (or raw) image reads as, streamed: nbdcopy (libnbd, not our NBD
 * code) serves it with its own read-only qemu-nbd and writes every byte, holes as zeros,
 * to the pipe. The same digest hashFile gives the raw file it should equal.
 */
export async function hashImage(path: string, format: 'qcow2' | 'raw'): Promise<{ sha256: string; size: number }> {
  const child = spawn('nbdcopy', ['--', '[', 'qemu-nbd', '--read-only', '--format', format, path, ']', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const hash = createHash('sha256');
  let size = 0;
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (hash.update(b), (size += b.length)));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | string>((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`cannot run nbdcopy (apt install libnbd-bin): ${e.message}`)));
    child.once('close', (c, signal) => resolve(c ?? signal ?? -1));
  });
  if (code !== 0) throw new Error(`nbdcopy of ${path} failed (${code}): ${stderr.trim()}`);
  return { sha256: hash.digest('hex'), size };
}

export function mbps(bytes: number, seconds: number): string {
  return seconds > 0 ? (bytes / 2 ** 20 / seconds).toFixed(0) : '∞';
}
