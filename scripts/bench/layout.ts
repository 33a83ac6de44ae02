import { Rng } from './prng.js';

/**
 * Where each kind of data goes in the bench image, and which pieces the "guest" rewrites
 * between the full and the incremental: pure, from the seed alone, so that tests check it
 * on a small image and the bench can regenerate any region without reading the file.
 */

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

export type RegionKind =
  | 'zero'
  /** Words from a fixed vocabulary: compresses about 3–4× with zstd. */
  | 'text'
  | 'random'
  /** 64 KiB pieces of zero, text or random: a filesystem's mixed areas, not block-aligned. */
  | 'mixed'
  /** A copy of an earlier run of text/random regions: the dedup exercise. */
  | 'repeat';

export type ImageSpec = { size: number; seed: number | string; regionSize: number; repeatSize: number };

export type Layout = {
  spec: ImageSpec;
  kinds: RegionKind[];
  /** The repeated run: `count` regions starting at region `target` copy those starting at `source`. */
  repeat: { source: number; target: number; count: number };
};

/** The proportions the issue asks for; what is left after them (and the repeat) is 'mixed'. */
export const SHARES = { zero: 0.25, text: 0.35, random: 0.25 } as const;

export function imageSpec(size: number, seed: number | string): ImageSpec {
  return { size, seed, regionSize: 16 * MiB, repeatSize: 64 * MiB };
}

export function planLayout(spec: ImageSpec): Layout {
  const { size, regionSize, repeatSize } = spec;
  const n = size / regionSize;
  const count = repeatSize / regionSize;
  if (!Number.isInteger(n) || !Number.isInteger(count)) throw new Error('bench: the image and repeat sizes must be multiples of the region size');
  if (n < 4 * count + 8) throw new Error(`bench: an image of ${n} regions is too small for a repeat of ${count}`);
  const counts: [RegionKind, number][] = [
    ['zero', Math.round(SHARES.zero * n)],
    ['text', Math.round(SHARES.text * n)],
    ['random', Math.round(SHARES.random * n)],
  ];
  const mixed = n - count - counts.reduce((sum, [, c]) => sum + c, 0);
  const rng = new Rng(`${spec.seed}:layout`);
  const kinds = rng.shuffle([...counts, ['mixed', mixed] as [RegionKind, number]].flatMap(([kind, c]) => Array<RegionKind>(c).fill(kind)));

  // The source run alternates text and random, so that the copy is neither zeros nor
  // trivially compressible; swapping keeps every kind's count.
  const source = rng.below(Math.floor(kinds.length / 2) - count);
  for (let j = 0; j < count; j++) {
    const want: RegionKind = j % 2 === 0 ? 'text' : 'random';
    if (kinds[source + j] === want) continue;
    const other = kinds.findIndex((k, i) => k === want && (i < source || i >= source + count));
    if (other < 0) throw new Error('bench: not enough text/random regions for the repeat');
    [kinds[source + j], kinds[other]] = [want, kinds[source + j]!];
  }
  const target = source + count + rng.below(kinds.length - source - count + 1);
  kinds.splice(target, 0, ...Array<RegionKind>(count).fill('repeat'));
  return { spec, kinds, repeat: { source, target, count } };
}

export type Extent = { offset: number; length: number };
export type RewritePiece = Extent & { kind: 'text' | 'random' };

export const REWRITE = { fraction: 0.05, pieceSize: MiB, align: 4096 } as const;

/**
 * The guest's writes between the full and the incremental: 5% of the image in 1 MiB
 * pieces at seeded 4 KiB-aligned offsets (as a guest filesystem writes), not on the
 * repository's 1 MiB block grid, non-overlapping, sorted by offset.
 */
export function planRewrite(size: number, seed: number | string, options: Partial<Record<keyof typeof REWRITE, number>> = {}): RewritePiece[] {
  const { fraction, pieceSize, align } = { ...REWRITE, ...options };
  const count = Math.round((size * fraction) / pieceSize);
  const slots = Math.floor((size - pieceSize) / align) + 1;
  const rng = new Rng(`${seed}:rewrite`);
  const offsets: number[] = []; // kept sorted
  for (let attempts = 0; offsets.length < count; attempts++) {
    if (attempts > count * 1000) throw new Error('bench: could not place the rewrite pieces');
    const offset = rng.below(slots) * align;
    let lo = 0;
    let hi = offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (offsets[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    const before = offsets[lo - 1];
    const after = offsets[lo];
    if ((before !== undefined && before + pieceSize > offset) || (after !== undefined && offset + pieceSize > after)) continue;
    offsets.splice(lo, 0, offset);
  }
  return offsets.map((offset, i) => ({ offset, length: pieceSize, kind: new Rng(`${seed}:rewrite:${i}`).below(2) === 0 ? 'text' : 'random' }));
}

/** Sorted, with touching or overlapping extents merged: the changed-extent list a CBT source gives. */
export function coalesce(extents: readonly Extent[]): Extent[] {
  const sorted = [...extents].sort((a, b) => a.offset - b.offset);
  const out: Extent[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    if (last && e.offset <= last.offset + last.length) last.length = Math.max(last.length, e.offset + e.length - last.offset);
    else out.push({ offset: e.offset, length: e.length });
  }
  return out;
}
