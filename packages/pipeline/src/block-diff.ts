import { PipelineError } from './errors.js';

/** What block-diff needs of a disk's block map; a PointDisk is one. */
export type BlockMap = {
  readonly size: number;
  readonly blockSize: number;
  readonly blockCount: number;
  /** Digest of block i, or null for a zero block. */
  digestAt(i: number): Buffer | null;
};

/** A byte range of a disk and whether it changed (a dirty bitmap's extents, e.g. NBD `qemu:dirty-bitmap:*`). */
export type DirtyExtent = { offset: number; length: number; dirty: boolean };

/** A set of block numbers of one disk, one bit per block: what a quick rollback writes. */
export class BlockSet {
  /** Bit i & 7 of byte i >>> 3 is block i. */
  readonly bits: Uint8Array;

  constructor(readonly blockCount: number) {
    if (!Number.isSafeInteger(blockCount) || blockCount < 0)
      throw new PipelineError('BAD_ARGUMENT', `a block set holds a whole number of blocks, not ${blockCount}`);
    this.bits = new Uint8Array(Math.ceil(blockCount / 8));
  }

  has(i: number): boolean {
    return i >= 0 && i < this.blockCount && (this.bits[i >>> 3]! & (1 << (i & 7))) !== 0;
  }

  add(i: number): void {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.blockCount) throw new PipelineError('BAD_ARGUMENT', `block ${i} is outside 0..${this.blockCount - 1}`);
    this.bits[i >>> 3]! |= 1 << (i & 7);
  }

  /** Marks blocks first..last, both included. */
  addRange(first: number, last: number): void {
    for (let i = first; i <= last; i++) this.add(i);
  }

  /** Blocks in the set, counted afresh (an eighth of a byte per block). */
  get count(): number {
    let n = 0;
    for (const byte of this.bits) for (let v = byte; v; v &= v - 1) n++;
    return n;
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (let i = 0; i < this.blockCount; i++) if (this.has(i)) yield i;
  }
}

/**
 * The blocks whose content differs between two complete maps of the same disk (a zero
 * block's null is a digest like any other): what must be written to turn a disk that
 * holds one into the other.
 */
export function differingBlocks(a: BlockMap, b: BlockMap): BlockSet {
  if (a.size !== b.size || a.blockSize !== b.blockSize || a.blockCount !== b.blockCount) {
    throw new PipelineError(
      'BAD_ARGUMENT',
      `cannot compare block maps of different disks: ${a.size} bytes in blocks of ${a.blockSize} vs ${b.size} bytes in blocks of ${b.blockSize}`,
    );
  }
  const out = new BlockSet(a.blockCount);
  for (let i = 0; i < a.blockCount; i++) {
    const x = a.digestAt(i);
    const y = b.digestAt(i);
    if (x === null ? y !== null : y === null || !x.equals(y)) out.add(i);
  }
  return out;
}

/** The blocks touched by the dirty byte ranges: a range marks every block it overlaps, however little. */
export function dirtyBlocks(extents: Iterable<DirtyExtent>, blockSize: number, blockCount: number): BlockSet {
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0) throw new PipelineError('BAD_ARGUMENT', `block size must be a positive integer, not ${blockSize}`);
  const out = new BlockSet(blockCount);
  for (const e of extents) {
    if (!Number.isSafeInteger(e.offset) || !Number.isSafeInteger(e.length) || e.offset < 0 || e.length < 0) {
      throw new PipelineError('BAD_ARGUMENT', `extent ${e.offset}+${e.length} is not a byte range`);
    }
    if (!e.dirty || e.length === 0) continue;
    const last = Math.floor((e.offset + e.length - 1) / blockSize);
    if (last >= blockCount)
      throw new PipelineError('BAD_ARGUMENT', `extent ${e.offset}+${e.length} reaches past the ${blockCount} blocks of ${blockSize} bytes`);
    out.addRange(Math.floor(e.offset / blockSize), last);
  }
  return out;
}

/** Every block in any of the sets, which must all be of one disk. */
export function union(...sets: BlockSet[]): BlockSet {
  const first = sets[0];
  if (!first) throw new PipelineError('BAD_ARGUMENT', 'union of no block sets');
  const out = new BlockSet(first.blockCount);
  for (const s of sets) {
    if (s.blockCount !== first.blockCount) throw new PipelineError('BAD_ARGUMENT', `cannot unite block sets of ${first.blockCount} and ${s.blockCount} blocks`);
    for (let k = 0; k < out.bits.length; k++) out.bits[k]! |= s.bits[k]!;
  }
  return out;
}
