import { describe, expect, it } from 'vitest';
import { crc32c } from './codec/chunk-codec.mjs';
import { decodeIndex, digestAt, encodeIndex, indexBinding, newIndex } from './index-file.js';
import { RepositoryError } from './errors.js';

const binding = indexBinding('vm1/20261122T072122.123Z', 'vda');

const code = (f: Buffer) => {
  try {
    decodeIndex(f, 'x.idx');
    return 'ok';
  } catch (e) {
    return (e as RepositoryError).code;
  }
};

/** A version 1 index as the previous build wrote it: 64-byte header, no binding. */
function encodeV1(size: number, blockSize: number, entries: Buffer): Buffer {
  const out = Buffer.alloc(64 + entries.length);
  out.writeUInt32LE(0x58494253, 0);
  out.writeUInt32LE(1, 4);
  out.writeUInt32LE(blockSize, 8);
  out.writeBigUInt64LE(BigInt(size), 16);
  out.writeBigUInt64LE(BigInt(Math.ceil(size / blockSize)), 24);
  out.writeUInt32LE(crc32c(entries), 32);
  out.writeUInt32LE(crc32c(out.subarray(0, 60)), 60);
  entries.copy(out, 64);
  return out;
}

describe('disk index file', () => {
  it('round-trips digests and zero blocks, partial last block included, with its binding', () => {
    const index = newIndex(3 * 262144 + 5, 262144);
    expect(index.blockCount).toBe(4);
    Buffer.alloc(32, 0xab).copy(index.entries, 32);
    const file = encodeIndex(index, binding);
    expect(file.length).toBe(96 + 4 * 32);
    const back = decodeIndex(file, 'x.idx');
    expect(back.size).toBe(3 * 262144 + 5);
    expect(back.version).toBe(2);
    expect(back.binding!.equals(binding)).toBe(true);
    expect(digestAt(back, 0)).toBeNull();
    expect(digestAt(back, 1)!.equals(Buffer.alloc(32, 0xab))).toBe(true);
  });

  it('binds to the point id and the disk name', () => {
    // The example of FORMAT.md "Disk index".
    expect(binding.toString('hex')).toBe('4adc12a3b81dd9b4ec5902559da8b69ec22db3d1c1cc32aafc3c05611875e74c');
    expect(indexBinding('vm1/20261122T072122.123Z', 'vdb').equals(binding)).toBe(false);
    expect(indexBinding('vm1/20261122T072122.124Z', 'vda').equals(binding)).toBe(false);
    // The separator keeps "a/b"+"c" and "a/"+"bc" apart.
    expect(indexBinding('vm1/x', 'vda').equals(indexBinding('vm1/', 'xvda'))).toBe(false);
  });

  it('still reads a version 1 index, which has no binding', () => {
    const entries = Buffer.alloc(2 * 32, 0x11);
    const back = decodeIndex(encodeV1(2 * 262144, 262144, entries), 'old.idx');
    expect(back).toMatchObject({ version: 1, binding: null, blockCount: 2, size: 2 * 262144 });
    expect(back.entries.equals(entries)).toBe(true);
  });

  it('refuses damage and other versions with a code', () => {
    const file = encodeIndex(newIndex(1 << 20, 1 << 20), binding);
    expect(code(file)).toBe('ok');
    const entry = Buffer.from(file);
    entry[100] = 1;
    expect(code(entry)).toBe('POINT_CORRUPT');
    expect(code(file.subarray(0, 100))).toBe('POINT_CORRUPT');
    expect(code(file.subarray(0, 70))).toBe('POINT_CORRUPT'); // cut inside the binding
    const bound = Buffer.from(file);
    bound[70]! ^= 1;
    expect(() => decodeIndex(bound, 'x.idx')).toThrow(/binding CRC32C mismatch/);
    const v2 = Buffer.from(file);
    v2.writeUInt32LE(7, 4);
    expect(code(v2)).toBe('POINT_CORRUPT'); // the header CRC covers the version
    v2.writeUInt32LE(crc32c(v2.subarray(0, 60)), 60);
    expect(code(v2)).toBe('POINT_VERSION'); // a well-formed newer index is newer, not damaged
    const v1 = encodeV1(1 << 20, 1 << 20, Buffer.alloc(32));
    v1.writeUInt32LE(2, 4); // a version 1 file whose version reads 2
    expect(code(v1)).toBe('POINT_CORRUPT');
  });
});
