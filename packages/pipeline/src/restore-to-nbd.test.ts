import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repository, type BlockSize, type PointReader } from '@strongbox/repository';
import { backupDisk } from './backup-disk.js';
import { FileDiskReader } from './file-disk-reader.js';
import { restoreDiskToNbd, type BlockTarget } from './restore-to-nbd.js';
import { Throttle } from './throttle.js';

const BS: BlockSize = 262144;
// 25 blocks, the last one partial: blocks 4k and 4k+1 hold data, 4k+2 and 4k+3 are zero.
const SIZE = 24 * BS + 1000;
const isData = (b: number) => b % 4 < 2;

/** A target in memory: what a restore wrote, zeroed, finished and aborted. Writes complete a turn later, as over a socket. */
class MemoryTarget implements BlockTarget {
  readonly bytes: Buffer;
  readonly writes: number[] = [];
  readonly zeroes: [number, number][] = [];
  finished = 0;
  aborted = 0;
  released = 0;
  failWriteAt: number | null = null;
  onWrite: ((offset: number) => void) | null = null;

  constructor(
    readonly size: number,
    fill: number,
  ) {
    this.bytes = Buffer.alloc(size, fill);
  }

  async writeBlock(offset: number, data: Buffer, release?: (data: Buffer) => void): Promise<void> {
    if (this.aborted) throw new Error('write after abort');
    if (offset === this.failWriteAt) throw Object.assign(new Error('no space left on the target'), { errno: 'ENOSPC' });
    this.writes.push(offset);
    this.onWrite?.(offset);
    setImmediate(() => {
      data.copy(this.bytes, offset);
      this.released++;
      release?.(data);
    });
  }

  async zero(offset: number, length: number): Promise<void> {
    if (this.aborted) throw new Error('zero after abort');
    this.zeroes.push([offset, length]);
    this.bytes.fill(0, offset, offset + length);
  }

  async finish(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    this.finished++;
  }

  async abort(): Promise<void> {
    this.aborted++;
  }
}

let dir: string;
let point: PointReader;
let image: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strongbox-restore-nbd-unit-'));
  image = Buffer.alloc(SIZE);
  for (let b = 0; b * BS < SIZE; b++) if (isData(b)) randomBytes(Math.min(BS, SIZE - b * BS)).copy(image, b * BS);
  writeFileSync(join(dir, 'image.raw'), image);
  const repo = await Repository.create(join(dir, 'repo'), { blockSize: BS });
  const writer = await repo.beginPoint({ vmId: 'vm1', kind: 'full', parent: null, config: null });
  const reader = await FileDiskReader.open(join(dir, 'image.raw'));
  await backupDisk(writer, 'vda', reader);
  await reader.close();
  point = await repo.openPoint((await writer.commit()).id);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('restoreDiskToNbd', () => {
  it("'skip' writes the data blocks only, in disk order, and finishes once", async () => {
    const target = new MemoryTarget(SIZE + 4096, 0);
    const r = await restoreDiskToNbd(point, 'vda', target, { zeroBlocks: 'skip' });
    expect(target.bytes.subarray(0, SIZE).equals(image)).toBe(true);
    const data = Array.from({ length: 25 }, (_, b) => b).filter(isData);
    expect(target.writes).toEqual(data.map((b) => b * BS));
    expect(target.zeroes).toEqual([]);
    expect(r).toMatchObject({ blocksWritten: 13, blocksZeroed: 0, blocksSkipped: 12, bytes: 12 * BS + 1000, bytesZeroed: 0 });
    expect({ finished: target.finished, aborted: target.aborted, released: target.released }).toEqual({ finished: 1, aborted: 0, released: 13 });
  });

  it("'write-zeroes' clears old content, one request per run of zero blocks", async () => {
    const target = new MemoryTarget(SIZE, 0xee);
    const r = await restoreDiskToNbd(point, 'vda', target, { zeroBlocks: 'write-zeroes' });
    expect(target.bytes.equals(image)).toBe(true);
    expect(target.zeroes).toEqual(Array.from({ length: 6 }, (_, k) => [(4 * k + 2) * BS, 2 * BS]));
    expect(r).toMatchObject({ blocksWritten: 13, blocksZeroed: 12, blocksSkipped: 0, bytesZeroed: 12 * BS });
  });

  it('writes only the blocks of `only`, and nothing else of the target changes', async () => {
    const target = new MemoryTarget(SIZE, 0xee);
    const only = new Set([1, 2, 3, 8, 24]);
    const progress: number[] = [];
    const r = await restoreDiskToNbd(point, 'vda', target, {
      zeroBlocks: 'write-zeroes',
      only: (b) => only.has(b),
      onProgress: (p) => progress.push(p.bytesDone / p.totalBytes),
    });
    expect(target.writes).toEqual([1 * BS, 8 * BS, 24 * BS]);
    expect(target.zeroes).toEqual([[2 * BS, 2 * BS]]);
    expect(r).toMatchObject({ blocksWritten: 3, blocksZeroed: 2, blocksSkipped: 20 });
    for (let b = 0; b < 25; b++) {
      const at = b * BS;
      const got = target.bytes.subarray(at, Math.min(SIZE, at + BS));
      if (only.has(b)) expect(got.equals(image.subarray(at, at + got.length))).toBe(true);
      else expect(got.every((x) => x === 0xee)).toBe(true);
    }
    expect(progress.at(-1)).toBe(1);
  });

  it('paces the chunk bytes it reads by the throttle', async () => {
    class CountingThrottle extends Throttle {
      taken = 0;
      override take(bytes: number, signal?: AbortSignal): Promise<number> {
        this.taken += bytes;
        return super.take(bytes, signal);
      }
    }
    const throttle = new CountingThrottle(null);
    const disk = point.disk('vda');
    let chunkBytes = 0;
    for (let b = 0; b < disk.blockCount; b++) if (disk.digestAt(b)) chunkBytes += statSync(disk.store.path(disk.digestAt(b)!.toString('hex'))).size;
    await restoreDiskToNbd(point, 'vda', new MemoryTarget(SIZE, 0), { zeroBlocks: 'skip', throttle });
    expect(throttle.taken).toBe(chunkBytes);
  });

  it('refuses a target smaller than the disk, naming both sizes, and touches nothing', async () => {
    const target = new MemoryTarget(SIZE - 1, 0xee);
    await expect(restoreDiskToNbd(point, 'vda', target, { zeroBlocks: 'skip' })).rejects.toMatchObject({
      code: 'TARGET',
      message: `the target holds ${SIZE - 1} bytes, disk vda needs ${SIZE}`,
    });
    expect({ writes: target.writes.length, finished: target.finished, aborted: target.aborted }).toEqual({ writes: 0, finished: 0, aborted: 0 });
  });

  it('on abort stops writing, never finishes, and says cancelled', async () => {
    const target = new MemoryTarget(SIZE, 0);
    const stop = new AbortController();
    target.onWrite = () => target.writes.length === 3 && stop.abort();
    const error = await restoreDiskToNbd(point, 'vda', target, { zeroBlocks: 'write-zeroes', signal: stop.signal }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CANCELLED' });
    expect(target.writes).toHaveLength(3);
    expect(target.finished).toBe(0);
    expect(target.aborted).toBeGreaterThan(0);
    await expect(restoreDiskToNbd(point, 'vda', new MemoryTarget(SIZE, 0), { zeroBlocks: 'skip', signal: stop.signal })).rejects.toMatchObject({
      code: 'CANCELLED',
    });
  });

  it("passes the target's failure on, aborting it, without finishing", async () => {
    const target = new MemoryTarget(SIZE, 0);
    target.failWriteAt = 8 * BS;
    await expect(restoreDiskToNbd(point, 'vda', target, { zeroBlocks: 'skip' })).rejects.toMatchObject({ errno: 'ENOSPC' });
    expect(target.writes).toEqual([0, BS, 4 * BS, 5 * BS]);
    expect(target.finished).toBe(0);
    expect(target.aborted).toBeGreaterThan(0);
  });

  it("refuses a zeroBlocks that is neither 'skip' nor 'write-zeroes'", async () => {
    await expect(restoreDiskToNbd(point, 'vda', new MemoryTarget(SIZE, 0), { zeroBlocks: 'zero' as never })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});
