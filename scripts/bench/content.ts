import { createCipheriv, createHash } from 'node:crypto';
import type { Layout, RewritePiece } from './layout.js';
import { GENERATOR_VERSION, Rng, fillRandom } from './prng.js';

/**
 * The bytes of the bench image: each region's content is a function of the seed and the
 * region's index, so a region (or the source of the repeat) is regenerated on demand.
 */

const MIXED_PIECE = 64 * 1024;

const SYLLABLES = ['ka', 'to', 'ri', 'men', 'sa', 'lo', 've', 'dan', 'pe', 'ur', 'is', 'ol', 'tra', 'bi', 'que', 'nor'];
const MORE_SYLLABLES = ['el', 'sti', 'gu', 'fa', 'ba', 'ne', 'ho', 'ci', 'mu', 'ler', 'pa', 'ti', 'ro', 'xe', 'za', 'do'];

/**
 * 1024 made-up words of 1–3 syllables, chosen uniformly: measured at about 3.9× with
 * `zstd -3` and 3.7× with `zstd -1` (English-like text is 3–4×). Fixed for every seed.
 */
const VOCABULARY = (() => {
  const rng = new Rng('vocabulary');
  const all = [...SYLLABLES, ...MORE_SYLLABLES];
  const words = Array.from({ length: 1024 }, () => {
    let w = '';
    for (let n = 1 + rng.below(3); n > 0; n--) w += all[rng.below(all.length)];
    return `${w} `;
  });
  const bytes = Buffer.from(words.join(''));
  const starts = new Uint32Array(words.length + 1);
  let at = 0;
  words.forEach((w, i) => {
    starts[i] = at;
    at += w.length; // ASCII: characters are bytes
  });
  starts[words.length] = at;
  return { bytes, starts };
})();

/** Words with spaces, a newline about every 64 words. */
export function fillText(out: Buffer, seed: number | string, stream: string): void {
  // Every word takes at least 3 bytes and 2 random bytes: 2/3 of the output is enough.
  const random = Buffer.alloc((Math.ceil(out.length / 3) + 1) * 2);
  const key = createHash('sha256').update(`strongbox-bench:${GENERATOR_VERSION}:${seed}:text:${stream}`).digest().subarray(0, 16);
  createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(random).copy(random);
  const r16 = new Uint16Array(random.buffer, random.byteOffset, random.length >>> 1);
  const { bytes, starts } = VOCABULARY;
  const n = out.length;
  let pos = 0;
  for (let ri = 0; pos < n; ri++) {
    const r = r16[ri]!;
    const word = r & 1023;
    let at = starts[word]!;
    const end = starts[word + 1]!;
    if (pos + end - at > n) {
      out.fill(32, pos);
      break;
    }
    while (at < end) out[pos++] = bytes[at++]!;
    if (r >>> 10 === 0) out[pos - 1] = 10;
  }
}

/** Region `index` of the image, into `out` (regionSize bytes). */
export function fillRegion(layout: Layout, index: number, out: Buffer): void {
  const { seed } = layout.spec;
  const kind = layout.kinds[index];
  switch (kind) {
    case 'zero':
      out.fill(0);
      return;
    case 'text':
      fillText(out, seed, `region:${index}`);
      return;
    case 'random':
      fillRandom(out, seed, `region:${index}`);
      return;
    case 'mixed': {
      const rng = new Rng(`${seed}:mixed:${index}`);
      for (let at = 0; at < out.length; at += MIXED_PIECE) {
        const piece = out.subarray(at, at + MIXED_PIECE);
        const choice = rng.below(3);
        if (choice === 0) piece.fill(0);
        else if (choice === 1) fillText(piece, seed, `region:${index}:${at}`);
        else fillRandom(piece, seed, `region:${index}:${at}`);
      }
      return;
    }
    case 'repeat':
      fillRegion(layout, layout.repeat.source + (index - layout.repeat.target), out);
      return;
    default:
      throw new Error(`bench: no region ${index}`);
  }
}

/** New content of rewrite piece `index`: a stream of its own, so it matches nothing in the image. */
export function fillPiece(piece: RewritePiece, seed: number | string, index: number, out: Buffer): void {
  if (piece.kind === 'text') fillText(out, seed, `rewrite:${index}`);
  else fillRandom(out, seed, `rewrite:${index}`);
}
