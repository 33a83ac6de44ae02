import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoOf, ioError } from './errors.js';
import { chunkRelPath } from './format.js';
import { writeAll } from './fs-util.js';

/** The chunks/ab/cd/<sha256hex> files of a repository. */
export class ChunkStore {
  private readonly madeDirs = new Set<string>();

  constructor(readonly root: string) {}

  path(hex: string): string {
    return join(this.root, chunkRelPath(hex));
  }

  /**
   * Whether the chunk exists, refreshing its mtime when it does: a live writer that
   * relies on an old, unreferenced chunk makes it young, so GC spares it (see gc.ts).
   */
  async touch(hex: string): Promise<boolean> {
    const now = new Date();
    try {
      await utimes(this.path(hex), now, now);
      return true;
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return false;
      throw ioError(e, `checking chunk ${hex}`);
    }
  }

  async exists(hex: string): Promise<boolean> {
    try {
      await stat(this.path(hex));
      return true;
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return false;
      throw ioError(e, `checking chunk ${hex}`);
    }
  }

  /**
   * Writes a chunk file under a temporary name and renames it into place, so a crash
   * never leaves a torn file under a chunk's name (later writers trust existing names).
   * No fsync here: the point writer syncs the whole filesystem once before its manifest.
   */
  async put(hex: string, data: Uint8Array): Promise<void> {
    const path = this.path(hex);
    const dir = dirname(path);
    const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      if (!this.madeDirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        this.madeDirs.add(dir);
      }
      const fh = await open(tmp, 'wx');
      try {
        await writeAll(fh, data, 0);
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    } catch (e) {
      // Our temporary file is useless now; the write error is what matters.
      await rm(tmp, { force: true });
      throw ioError(e, `writing chunk ${hex}`);
    }
  }

  /** Reads a chunk file into `into` (at least maxChunkBytes long); null when missing. Returns the file length. */
  async read(hex: string, into: Buffer): Promise<number | null> {
    let fh;
    try {
      fh = await open(this.path(hex), 'r');
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return null;
      throw ioError(e, `reading chunk ${hex}`);
    }
    try {
      let total = 0;
      for (;;) {
        const { bytesRead } = await fh.read(into, total, into.length - total, total);
        total += bytesRead;
        // Regular files read short only at their end: no extra read to see EOF.
        if (bytesRead === 0 || total < into.length) return total;
        // Filled the buffer: a file longer than any valid chunk, reported as such by the decoder.
        return total;
      }
    } catch (e) {
      throw ioError(e, `reading chunk ${hex}`);
    } finally {
      await fh.close();
    }
  }

  /** Every chunk file and temporary file, folder by folder. */
  async *walk(): AsyncGenerator<{ name: string; path: string }> {
    const top = join(this.root, 'chunks');
    for (const a of (await readdir(top)).sort()) {
      let subs: string[];
      try {
        subs = await readdir(join(top, a));
      } catch (e) {
        if (errnoOf(e) === 'ENOTDIR') continue;
        throw e;
      }
      for (const b of subs.sort()) {
        const dir = join(top, a, b);
        for (const name of await readdir(dir)) yield { name, path: join(dir, name) };
      }
    }
  }
}
