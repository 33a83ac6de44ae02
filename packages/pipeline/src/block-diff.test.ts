import { describe, expect, it } from 'vitest';
import { PointDisk, blockCountOf, type DiskIndex } from '@strongbox/repository';
import { BlockSet, differingBlocks, dirtyBlocks, union } from './block-diff.js';
import { PipelineError } from './errors.js';

const digest = (n: number) => Buffer.alloc(32, n);

/** A block map by hand: 0 is a zero block, any other number the digest filled with it. */
function map(size: number, blockSize: number, blocks: number[]): PointDisk {
  const blockCount = blockCountOf(size, blockSize);
  expect(blocks).toHaveLength(blockCount);
  const index: DiskIndex = { size, blockSize, blockCount, entries: Buffer.alloc(blockCount * 32) };
  blocks.forEach((b, i) => b && digest(b).copy(index.entries, i * 32));
  // block-diff reads the index only; no chunk is read, so there is no store.
  return new PointDisk('vda', index, undefined as never);
}

const members = (s: BlockSet) => [...s];
const codeOf = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(PipelineError);
    return (e as PipelineError).code;
  }
};

describe('differingBlocks', () => {
  it('lists blocks whose digests differ, a zero block counting as a digest, the partial last block included', () => {
    const bs = 262144;
    const a = map(5 * bs + 10, bs, [1, 2, 0, 0, 5, 6]);
    const b = map(5 * bs + 10, bs, [1, 3, 0, 7, 0, 9]);
    const d = differingBlocks(a, b);
    expect(members(d)).toEqual([1, 3, 4, 5]);
    expect(d.count).toBe(4);
    expect(d.has(0)).toBe(false);
    expect(d.has(2)).toBe(false);
    expect(d.has(6)).toBe(false);
    expect(members(differingBlocks(b, a))).toEqual([1, 3, 4, 5]);
    expect(differingBlocks(a, a).count).toBe(0);
  });

  it('refuses maps of different sizes or block sizes', () => {
    const bs = 262144;
    expect(codeOf(() => differingBlocks(map(2 * bs, bs, [1, 2]), map(2 * bs + 1, bs, [1, 2, 0])))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => differingBlocks(map(4 * bs, bs, [1, 2, 3, 4]), map(4 * bs, 2 * bs, [1, 2])))).toBe('BAD_ARGUMENT');
  });
});

describe('dirtyBlocks', () => {
  it('marks every block a dirty byte range touches, and nothing for clean ranges', () => {
    const s = dirtyBlocks(
      [
        { offset: 0, length: 1, dirty: true },
        { offset: 1000, length: 5000, dirty: false },
        { offset: 4095, length: 2, dirty: true },
        { offset: 8192, length: 4096, dirty: true },
        { offset: 40960, length: 0, dirty: true },
        { offset: 45000, length: 20, dirty: true },
      ],
      4096,
      11,
    );
    expect(members(s)).toEqual([0, 1, 2, 10]);
    expect(s.count).toBe(4);
  });

  it('refuses ranges past the disk and ranges that are not byte ranges', () => {
    expect(codeOf(() => dirtyBlocks([{ offset: 4096 * 3, length: 1, dirty: true }], 4096, 3))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => dirtyBlocks([{ offset: -1, length: 5, dirty: true }], 4096, 3))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => dirtyBlocks([{ offset: 0, length: 0.5, dirty: true }], 4096, 3))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => dirtyBlocks([], 0, 3))).toBe('BAD_ARGUMENT');
  });
});

describe('BlockSet and union', () => {
  it('unites sets of one disk and counts across byte boundaries', () => {
    const a = new BlockSet(20);
    a.add(0);
    a.add(7);
    a.add(19);
    const b = new BlockSet(20);
    b.addRange(6, 9);
    const u = union(a, b);
    expect(members(u)).toEqual([0, 6, 7, 8, 9, 19]);
    expect(u.count).toBe(6);
    // The inputs are left as they were.
    expect(members(a)).toEqual([0, 7, 19]);
    expect(u.has(20)).toBe(false);
    expect(u.has(-1)).toBe(false);
  });

  it('refuses blocks outside the set and sets of other disks', () => {
    expect(codeOf(() => new BlockSet(8).add(8))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => union(new BlockSet(8), new BlockSet(9)))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => union())).toBe('BAD_ARGUMENT');
  });

  it('joins a map diff and a dirty bitmap for a quick rollback', () => {
    const bs = 4096;
    const diff = differingBlocks(map(4 * bs, bs, [1, 2, 3, 4]), map(4 * bs, bs, [1, 2, 9, 4]));
    const dirty = dirtyBlocks([{ offset: 0, length: 10, dirty: true }], bs, 4);
    expect(members(union(diff, dirty))).toEqual([0, 2]);
  });
});
