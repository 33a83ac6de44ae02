import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fillPiece, fillRegion, fillText } from './content.js';
import { MiB, planLayout, type ImageSpec, type RegionKind } from './layout.js';
import { fillRandom } from './prng.js';

const spec: ImageSpec = { size: 32 * MiB, seed: 7, regionSize: 256 * 1024, repeatSize: MiB };

function image(s: ImageSpec): Buffer {
  const layout = planLayout(s);
  const out = Buffer.alloc(s.size);
  layout.kinds.forEach((_, i) => fillRegion(layout, i, out.subarray(i * s.regionSize, (i + 1) * s.regionSize)));
  return out;
}

const ratio = (b: Buffer) => b.length / deflateSync(b, { level: 6 }).length;

describe('the bench image content', () => {
  const a = image(spec);

  it('is the same bytes for the same seed, other bytes for another', () => {
    expect(image({ ...spec }).equals(a)).toBe(true);
    expect(image({ ...spec, seed: 8 }).equals(a)).toBe(false);
  });

  it('has about the asked share of zeros (zero regions plus the zero pieces of mixed ones)', () => {
    let zeroPages = 0;
    for (let at = 0; at < a.length; at += 4096) if (a.subarray(at, at + 4096).every((b) => b === 0)) zeroPages++;
    const share = zeroPages / (a.length / 4096);
    expect(share).toBeGreaterThanOrEqual(0.24);
    expect(share).toBeLessThanOrEqual(0.25 + 0.14 / 2);
  });

  it('makes each kind of region what it says', () => {
    const layout = planLayout(spec);
    const region = (kind: RegionKind) => {
      const i = layout.kinds.indexOf(kind);
      return a.subarray(i * spec.regionSize, (i + 1) * spec.regionSize);
    };
    expect(region('zero').every((b) => b === 0)).toBe(true);
    expect(ratio(region('random'))).toBeLessThan(1.01);
    // zstd -3 gets about 3.9× on this text; deflate a little less.
    expect(ratio(region('text'))).toBeGreaterThan(2.5);
    expect(ratio(region('text'))).toBeLessThan(6);
    expect(/^[a-z \n]+$/.test(region('text').toString('latin1'))).toBe(true);
    const { source, target, count } = layout.repeat;
    const span = (first: number) => a.subarray(first * spec.regionSize, (first + count) * spec.regionSize);
    expect(span(target).equals(span(source))).toBe(true);
  });

  it('fills any length exactly, short ones included', () => {
    for (const n of [0, 1, 2, 3, 7, 4096, 65_537]) {
      const text = Buffer.alloc(n, 0xff);
      fillText(text, 1, 'x');
      expect(text.includes(0xff)).toBe(false);
      const random = Buffer.alloc(n);
      fillRandom(random, 1, 'x');
      expect(random.length).toBe(n);
    }
  });

  it('gives rewrite pieces new content, deterministic, unlike the image', () => {
    const piece = { offset: 0, length: 64 * 1024, kind: 'random' as const };
    const one = Buffer.alloc(piece.length);
    const two = Buffer.alloc(piece.length);
    fillPiece(piece, 7, 0, one);
    fillPiece(piece, 7, 0, two);
    expect(one.equals(two)).toBe(true);
    expect(a.includes(one.subarray(0, 32))).toBe(false);
  });
});
