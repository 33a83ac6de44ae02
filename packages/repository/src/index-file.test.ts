import { describe, expect, it } from 'vitest';
import { decodeIndex, digestAt, encodeIndex, newIndex } from './index-file.js';
import { RepositoryError } from './errors.js';

describe('disk index file', () => {
  it('round-trips digests and zero blocks, partial last block included', () => {
    const index = newIndex(3 * 262144 + 5, 262144);
    expect(index.blockCount).toBe(4);
    Buffer.alloc(32, 0xab).copy(index.entries, 32);
    const back = decodeIndex(encodeIndex(index), 'x.idx');
    expect(back.size).toBe(3 * 262144 + 5);
    expect(digestAt(back, 0)).toBeNull();
    expect(digestAt(back, 1)!.equals(Buffer.alloc(32, 0xab))).toBe(true);
  });

  it('refuses damage and other versions with a code', () => {
    const file = encodeIndex(newIndex(1 << 20, 1 << 20));
    const code = (f: Buffer) => {
      try {
        decodeIndex(f, 'x.idx');
        return 'ok';
      } catch (e) {
        return (e as RepositoryError).code;
      }
    };
    expect(code(file)).toBe('ok');
    const entry = Buffer.from(file);
    entry[70] = 1;
    expect(code(entry)).toBe('POINT_CORRUPT');
    expect(code(file.subarray(0, 70))).toBe('POINT_CORRUPT');
    const v2 = Buffer.from(file);
    v2.writeUInt32LE(2, 4);
    expect(code(v2)).toBe('POINT_CORRUPT'); // the header CRC covers the version
  });
});
