import type { DiskExtent, ExtentMode } from '@strongbox/core';
import { PipelineError } from './errors.js';

export const ZERO = 0;
export const READ = 1;
export const CARRY = 2;

export type Segment = { offset: number; length: number };

export type BlockPlan = {
  blockCount: number;
  /** Per block: ZERO (not read, not stored), READ, or CARRY (taken from the parent unread). */
  actions: Uint8Array;
  /** Blocks only partly covered by allocated extents: the ranges to read (the rest reads as zeros). */
  partial: Map<number, Segment[]>;
  /** Bytes the run will read from the source. */
  readBytes: number;
};

/**
 * Maps a reader's extents onto the block grid. 'allocated': a block with no data extent
 * is zero; a partly covered block reads only its data ranges. 'changed': a block that a
 * changed extent touches is re-read whole (unless the change zeroed all of it), the
 * others are carried from the parent when `canCarry` says the parent has them.
 */
export function planBlocks(size: number, blockSize: number, mode: ExtentMode, extents: DiskExtent[], canCarry: (block: number) => boolean): BlockPlan {
  const blockCount = Math.ceil(size / blockSize);
  const actions = new Uint8Array(blockCount);
  const dataBytes = new Float64Array(blockCount);
  const zeroBytes = new Float64Array(blockCount);
  const partial = new Map<number, Segment[]>();
  let last = 0;
  for (const e of extents) {
    if (e.offset < last || e.length < 0 || e.offset + e.length > size) {
      throw new PipelineError('SOURCE_RANGE', `extent ${e.offset}+${e.length} is out of order or outside the disk (${size} bytes)`);
    }
    last = e.offset + e.length;
    for (let at = e.offset; at < last;) {
      const b = Math.floor(at / blockSize);
      const end = Math.min(last, (b + 1) * blockSize);
      if (e.zero) zeroBytes[b]! += end - at;
      else {
        dataBytes[b]! += end - at;
        if (mode === 'allocated') {
          const list = partial.get(b) ?? [];
          list.push({ offset: at, length: end - at });
          partial.set(b, list);
        }
      }
      at = end;
    }
  }
  let readBytes = 0;
  for (let b = 0; b < blockCount; b++) {
    const len = Math.min(blockSize, size - b * blockSize);
    if (mode === 'allocated') {
      if (dataBytes[b] === 0) actions[b] = ZERO;
      else {
        actions[b] = READ;
        if (dataBytes[b] === len) partial.delete(b);
        readBytes += dataBytes[b]!;
      }
    } else if (dataBytes[b]! > 0 || (zeroBytes[b]! > 0 && zeroBytes[b] !== len)) {
      actions[b] = READ;
      readBytes += len;
    } else if (zeroBytes[b] === len) {
      actions[b] = ZERO;
    } else if (canCarry(b)) {
      actions[b] = CARRY;
    } else {
      actions[b] = READ;
      readBytes += len;
    }
  }
  return { blockCount, actions, partial, readBytes };
}
