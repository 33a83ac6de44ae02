import { describe, expect, it } from 'vitest';
import { CARRY, READ, ZERO, planBlocks } from './block-plan.js';
import { normalize } from './file-disk-reader.js';

const K = 1024;
const bs = 256 * K;

describe('planBlocks', () => {
  it("'allocated': unlisted blocks are zero, partly covered blocks read only their data", () => {
    const plan = planBlocks(
      4 * bs + 100,
      bs,
      'allocated',
      [
        { offset: 0, length: bs, zero: false },
        { offset: bs + 4 * K, length: 8 * K, zero: false },
        { offset: 2 * bs, length: bs, zero: true },
        { offset: 4 * bs, length: 100, zero: false },
      ],
      () => false,
    );
    expect([...plan.actions]).toEqual([READ, READ, ZERO, ZERO, READ]);
    expect(plan.partial.get(1)).toEqual([{ offset: bs + 4 * K, length: 8 * K }]);
    expect(plan.partial.has(0)).toBe(false);
    expect(plan.readBytes).toBe(bs + 8 * K + 100);
  });

  it("'changed': touched blocks are re-read whole, wholly zeroed ones are zero, the rest carried", () => {
    const plan = planBlocks(
      6 * bs,
      bs,
      'changed',
      [
        { offset: bs - 4 * K, length: 8 * K, zero: false }, // straddles blocks 0 and 1
        { offset: 3 * bs, length: bs, zero: true },
        { offset: 4 * bs, length: 4 * K, zero: true },
      ],
      (b) => b < 5,
    );
    expect([...plan.actions]).toEqual([READ, READ, CARRY, ZERO, READ, READ]);
    expect(plan.readBytes).toBe(4 * bs);
  });

  it('refuses extents out of order or past the end', () => {
    expect(() => planBlocks(bs, bs, 'allocated', [{ offset: 0, length: bs + 1, zero: false }], () => false)).toThrow(/outside/);
    expect(() =>
      planBlocks(
        2 * bs,
        bs,
        'allocated',
        [
          { offset: bs, length: 1, zero: false },
          { offset: 0, length: 1, zero: false },
        ],
        () => false,
      ),
    ).toThrow(/out of order/);
  });

  it('an empty disk has no blocks', () => {
    expect(planBlocks(0, bs, 'allocated', [], () => false).blockCount).toBe(0);
  });
});

describe('normalize (FileDiskReader changed extents)', () => {
  it('sorts, clamps and merges', () => {
    expect(
      normalize(
        [
          { offset: 100, length: 50 },
          { offset: 0, length: 10 },
          { offset: 120, length: 100 },
          { offset: 900, length: 500 },
          { offset: 5, length: 0 },
        ],
        1000,
      ),
    ).toEqual([
      { offset: 0, length: 10, zero: false },
      { offset: 100, length: 120, zero: false },
      { offset: 900, length: 100, zero: false },
    ]);
  });
});
