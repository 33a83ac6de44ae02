import { execFile } from 'node:child_process';
import { open, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { DiskExtent, DiskReader, ExtentMode } from '@strongbox/core';
import { PipelineError } from './errors.js';

const execFileP = promisify(execFile);

/**
 * A raw image file or block device as a DiskReader. Node cannot SEEK_DATA/SEEK_HOLE, so
 * the whole file counts as allocated and zero blocks are found by content; with
 * `changed`, the mode is 'changed' and those extents are the CBT list.
 */
export class FileDiskReader implements DiskReader {
  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    readonly mode: ExtentMode,
    private readonly changed: DiskExtent[],
  ) {}

  static async open(path: string, opts: { changed?: { offset: number; length: number }[] } = {}): Promise<FileDiskReader> {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      const size = st.isBlockDevice() ? Number((await execFileP('blockdev', ['--getsize64', path])).stdout.trim()) : st.size;
      const changed = opts.changed ? normalize(opts.changed, size) : [];
      return new FileDiskReader(fh, size, opts.changed ? 'changed' : 'allocated', changed);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  async *extents(): AsyncIterable<DiskExtent> {
    if (this.mode === 'allocated') {
      if (this.size > 0) yield { offset: 0, length: this.size, zero: false };
      return;
    }
    yield* this.changed;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    return this.readInto(offset, Buffer.allocUnsafe(length));
  }

  /** Fills `target` from `offset`; the pipeline passes recycled buffers. */
  async readInto(offset: number, target: Buffer): Promise<Buffer> {
    if (offset < 0 || offset + target.length > this.size) {
      throw new PipelineError('SOURCE_RANGE', `read ${offset}+${target.length} is outside the image (${this.size} bytes)`);
    }
    for (let done = 0; done < target.length;) {
      const { bytesRead } = await this.fh.read(target, done, target.length - done, offset + done);
      if (bytesRead === 0) throw new PipelineError('SOURCE_READ', `the image ended at ${offset + done} (expected ${this.size} bytes)`);
      done += bytesRead;
    }
    return target;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** Sorts, clamps and merges caller-given extents into the ordered, disjoint list DiskReader promises. */
export function normalize(list: { offset: number; length: number }[], size: number): DiskExtent[] {
  const sorted = list
    .map((e) => ({ offset: Math.max(0, e.offset), end: Math.min(size, e.offset + e.length) }))
    .filter((e) => e.end > e.offset)
    .sort((a, b) => a.offset - b.offset);
  const out: DiskExtent[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    if (last && e.offset <= last.offset + last.length) last.length = Math.max(last.length, e.end - last.offset);
    else out.push({ offset: e.offset, length: e.end - e.offset, zero: false });
  }
  return out;
}
