import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CODEC_NONE, CODEC_ZSTD, HEADER_BYTES, crc32c, decodeChunk, encodeChunk, hashBlock, maxChunkBytes } from './chunk-codec.mjs';

// Byte-at-a-time CRC32C, the definition the fast version must match.
function slowCrc(buf: Uint8Array): number {
  let crc = ~0;
  for (const b of buf) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

const text = Buffer.from('a repository of restore points, '.repeat(8000));

describe('crc32c', () => {
  it('matches the standard check values', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });
  it('matches the bytewise definition at every alignment and length', () => {
    const data = randomBytes(300);
    for (let start = 0; start < 8; start++)
      for (const len of [0, 1, 15, 16, 17, 63, 64, 200]) {
        const view = data.subarray(start, start + len);
        expect(crc32c(view)).toBe(slowCrc(view));
      }
  });
});

describe('chunk encode/decode', () => {
  const out = Buffer.alloc(maxChunkBytes(text.length));
  const raw = Buffer.alloc(text.length);

  for (const level of [null, -1, 1, 3, 9]) {
    it(`round-trips at level ${level}`, () => {
      const n = encodeChunk(text, level, out);
      expect(out[5]).toBe(level === null ? CODEC_NONE : CODEC_ZSTD);
      expect(out.subarray(0, 4).toString()).toBe('SBCK');
      expect(out.readUInt32LE(8)).toBe(text.length);
      expect(out.readUInt32LE(12)).toBe(n - HEADER_BYTES);
      const digest = createHash('sha256').update(text).digest();
      expect(decodeChunk(out.subarray(0, n), raw, digest)).toEqual({ ok: true, rawLength: text.length });
      expect(raw.equals(text)).toBe(true);
    });
  }

  it('stores incompressible blocks as they are', () => {
    const rnd = randomBytes(65536);
    const o = Buffer.alloc(maxChunkBytes(rnd.length));
    const n = encodeChunk(rnd, 3, o);
    expect(o[5]).toBe(CODEC_NONE);
    expect(n).toBe(HEADER_BYTES + rnd.length);
  });

  it('skips zstd on large random blocks by sampling, but still compresses mixed ones', () => {
    const o = Buffer.alloc(maxChunkBytes(1 << 20));
    const rnd = randomBytes(1 << 20);
    expect(encodeChunk(rnd, 1, o)).toBe(HEADER_BYTES + rnd.length);
    expect(o[5]).toBe(CODEC_NONE);
    const mixed = Buffer.concat([randomBytes(600 * 1024), text]); // 600 KiB random, 250 KB of text
    const n = encodeChunk(mixed, 1, o);
    expect(o[5]).toBe(CODEC_ZSTD);
    expect(n).toBeLessThan(600 * 1024 + 20 * 1024);
    const back = Buffer.alloc(mixed.length);
    expect(decodeChunk(o.subarray(0, n), back, null)).toEqual({ ok: true, rawLength: mixed.length });
    expect(back.equals(mixed)).toBe(true);
  });

  it('names each kind of damage', () => {
    const n = encodeChunk(text, 3, out);
    const file = () => Buffer.from(out.subarray(0, n));
    const damaged = (f: (b: Buffer) => Buffer) => decodeChunk(f(file()), raw, createHash('sha256').update(text).digest());
    expect(damaged((b) => b.subarray(0, 10))).toMatchObject({ ok: false, problem: 'truncated' });
    expect(damaged((b) => b.subarray(0, n - 1))).toMatchObject({ ok: false, problem: 'truncated' });
    expect(damaged((b) => ((b[0] = 0), b))).toMatchObject({ ok: false, problem: 'header' });
    expect(damaged((b) => ((b[8]! ^= 1), b))).toMatchObject({ ok: false, problem: 'header' });
    expect(damaged((b) => ((b[HEADER_BYTES + 40]! ^= 4), b))).toMatchObject({ ok: false, problem: 'crc' });
    expect(damaged((b) => Buffer.concat([b, Buffer.from('x')]))).toMatchObject({ ok: false, problem: 'header' });
    expect(decodeChunk(file(), raw, Buffer.alloc(32, 1))).toMatchObject({ ok: false, problem: 'digest' });
  });

  it('hashes only blocks that are not all zeros', () => {
    const zeros = Buffer.alloc(1 << 20);
    expect(hashBlock(Buffer.alloc(4096), zeros)).toBeNull();
    expect(hashBlock(Buffer.alloc(3 << 20), Buffer.alloc(1024))).toBeNull();
    const b = Buffer.alloc(4096);
    b[4095] = 1;
    expect(hashBlock(b, zeros)!.equals(createHash('sha256').update(b).digest())).toBe(true);
  });
});
