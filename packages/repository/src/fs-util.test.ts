import { describe, expect, it } from 'vitest';
import type { FileHandle } from 'node:fs/promises';
import { writeAll } from './fs-util.js';

/** A file handle whose writes take at most `most` bytes at a time, as a filling file system's do. */
function shortWriter(most: number, capacity = Infinity) {
  const file = Buffer.alloc(64);
  let used = 0;
  const fh = {
    write: async (data: Uint8Array, offset: number, length: number, position: number) => {
      const n = Math.min(length, most, capacity - used);
      if (n === 0 && length > 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      Buffer.from(data.buffer, data.byteOffset + offset, n).copy(file, position);
      used += n;
      return { bytesWritten: n, buffer: data };
    },
  } as unknown as FileHandle;
  return { fh, file };
}

describe('writeAll', () => {
  it('writes everything even when each write takes only part of it', async () => {
    const { fh, file } = shortWriter(3);
    await writeAll(fh, Buffer.from('0123456789'), 5);
    expect(file.subarray(5, 15).toString()).toBe('0123456789');
  });

  it('says the file system is full instead of leaving a short file that looks whole', async () => {
    const { fh } = shortWriter(4, 7);
    await expect(writeAll(fh, Buffer.from('0123456789'), 0)).rejects.toMatchObject({ code: 'ENOSPC' });
  });

  it('writes a slice of the buffer', async () => {
    const { fh, file } = shortWriter(2);
    await writeAll(fh, Buffer.from('xxabcdxx'), 0, 2, 4);
    expect(file.subarray(0, 4).toString()).toBe('abcd');
  });
});
