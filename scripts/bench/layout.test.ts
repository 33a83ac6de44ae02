import { describe, expect, it } from 'vitest';
import { coalesce, MiB, planLayout, planRewrite, SHARES, type Extent, type ImageSpec } from './layout.js';

const small: ImageSpec = { size: 32 * MiB, seed: 7, regionSize: 256 * 1024, repeatSize: MiB };

describe('planLayout', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(planLayout(small)).toEqual(planLayout({ ...small }));
    expect(planLayout({ ...small, seed: 8 }).kinds).not.toEqual(planLayout(small).kinds);
  });

  it('has the asked proportions, the rest mixed, and one repeat of the repeat size', () => {
    const { kinds, repeat } = planLayout(small);
    const n = kinds.length;
    expect(n).toBe(128);
    const share = (k: string) => kinds.filter((x) => x === k).length / n;
    for (const [kind, want] of Object.entries(SHARES)) expect(Math.abs(share(kind) - want)).toBeLessThanOrEqual(1 / n);
    expect(share('repeat') * n).toBe(4);
    expect(share('mixed')).toBeGreaterThan(0);
    expect(kinds.slice(repeat.target, repeat.target + 4)).toEqual(['repeat', 'repeat', 'repeat', 'repeat']);
    // The source is earlier, does not overlap the copy, and is text and random, never zeros.
    expect(repeat.source + repeat.count).toBeLessThanOrEqual(repeat.target);
    expect(kinds.slice(repeat.source, repeat.source + 4)).toEqual(['text', 'random', 'text', 'random']);
  });

  it('interleaves the kinds instead of one long run of each', () => {
    const { kinds } = planLayout(small);
    const runs = kinds.filter((k, i) => k !== kinds[i - 1]).length;
    expect(runs).toBeGreaterThan(kinds.length / 3);
  });

  const bad: [string, ImageSpec][] = [
    ['a size off the region grid', { ...small, size: small.size + 4096 }],
    ['too few regions for the repeat', { ...small, size: 4 * MiB }],
  ];
  it.each(bad)('refuses %s', (_name, spec) => {
    expect(() => planLayout(spec)).toThrow(/bench:/);
  });
});

describe('planRewrite', () => {
  const cases: [string, number, number | string, number][] = [
    ['4 GiB, the default', 4 * 1024 * MiB, 1, 205],
    ['1 GiB', 1024 * MiB, 'abc', 51],
    ['crowded: half of 64 MiB', 64 * MiB, 3, 32],
  ];
  it.each(cases)('%s: in bounds, 4 KiB-aligned, sorted, non-overlapping, the asked share', (name, size, seed, count) => {
    const fraction = name.startsWith('crowded') ? 0.5 : 0.05;
    const pieces = planRewrite(size, seed, { fraction });
    expect(pieces).toHaveLength(count);
    for (const [i, p] of pieces.entries()) {
      expect(p.length).toBe(MiB);
      expect(p.offset % 4096).toBe(0);
      expect(p.offset).toBeGreaterThanOrEqual(0);
      expect(p.offset + p.length).toBeLessThanOrEqual(size);
      if (i > 0) expect(pieces[i - 1]!.offset + MiB).toBeLessThanOrEqual(p.offset);
    }
    const total = pieces.reduce((s, p) => s + p.length, 0);
    expect(Math.abs(total / size - fraction)).toBeLessThanOrEqual(MiB / size);
    expect(planRewrite(size, seed, { fraction })).toEqual(pieces);
  });

  it('does not follow the 1 MiB block grid, and mixes text and random content', () => {
    const pieces = planRewrite(4 * 1024 * MiB, 1);
    expect(pieces.filter((p) => p.offset % MiB !== 0).length).toBeGreaterThan(pieces.length * 0.9);
    expect(new Set(pieces.map((p) => p.kind))).toEqual(new Set(['text', 'random']));
  });

  it('gives the changed-extent list as exactly those pieces, coalesced', () => {
    const pieces = planRewrite(64 * MiB, 3, { fraction: 0.5 });
    const changed = coalesce(pieces);
    expect(changed.reduce((s, e) => s + e.length, 0)).toBe(pieces.length * MiB);
    for (const [i, e] of changed.entries()) if (i > 0) expect(changed[i - 1]!.offset + changed[i - 1]!.length).toBeLessThan(e.offset);
  });
});

describe('coalesce', () => {
  const table: [string, Extent[], Extent[]][] = [
    ['empty', [], []],
    [
      'unsorted, apart',
      [
        { offset: 100, length: 10 },
        { offset: 0, length: 10 },
      ],
      [
        { offset: 0, length: 10 },
        { offset: 100, length: 10 },
      ],
    ],
    [
      'touching',
      [
        { offset: 0, length: 10 },
        { offset: 10, length: 5 },
      ],
      [{ offset: 0, length: 15 }],
    ],
    [
      'overlapping and contained',
      [
        { offset: 0, length: 20 },
        { offset: 5, length: 5 },
        { offset: 15, length: 10 },
      ],
      [{ offset: 0, length: 25 }],
    ],
  ];
  it.each(table)('%s', (_name, input, expected) => {
    expect(coalesce(input)).toEqual(expected);
  });
});
