import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AGENT_CHUNK, agentChunks, keepBothName, parseProcMounts } from './guest-agent-files.js';

async function* parts(sizes: number[], data: Buffer): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (const n of sizes) {
    yield data.subarray(at, at + n);
    at += n;
  }
}

describe('files restored through the guest agent', () => {
  it('names the kept copy after the original with a UTC stamp, to the second', () => {
    expect(keepBothName('/home/ann/report.txt', new Date('2026-12-03T10:15:07.431Z'))).toBe('/home/ann/report.txt.restored-20261203T101507Z');
  });

  it.each([
    ['one small piece', [10]],
    ['exactly one chunk', [AGENT_CHUNK]],
    ['pieces across chunk edges', [1, AGENT_CHUNK - 1, AGENT_CHUNK + 7, 3, 2 * AGENT_CHUNK]],
    ['one piece of many chunks', [5 * AGENT_CHUNK + 11]],
  ])('re-cuts %s into chunks of at most 64 KiB, every byte in order', async (_, sizes) => {
    const total = sizes.reduce((a, b) => a + b, 0);
    const data = randomBytes(total);
    const out: Buffer[] = [];
    for await (const c of agentChunks(parts(sizes, data))) out.push(c);
    expect(out.every((c) => c.length > 0 && c.length <= AGENT_CHUNK)).toBe(true);
    expect(out.slice(0, -1).every((c) => c.length === AGENT_CHUNK)).toBe(true);
    const joined = Buffer.concat(out);
    expect(createHash('md5').update(joined).digest('hex')).toBe(createHash('md5').update(data).digest('hex'));
  });

  it('yields nothing for an empty file', async () => {
    const out: Buffer[] = [];
    for await (const c of agentChunks(parts([0], Buffer.alloc(0)))) out.push(c);
    expect(out).toEqual([]);
  });

  it('keeps its pieces when the source reuses its buffer', async () => {
    const shared = Buffer.alloc(4);
    async function* reusing() {
      for (const v of [1, 2, 3]) {
        shared.fill(v);
        yield shared;
      }
    }
    const out: Buffer[] = [];
    for await (const c of agentChunks(reusing())) out.push(c);
    expect(Buffer.concat(out)).toEqual(Buffer.from([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]));
  });

  it("reads the guest's /proc/mounts: devices only, octal escapes undone", () => {
    const text = [
      'rootfs / rootfs rw 0 0',
      'proc /proc proc rw,relatime 0 0',
      '/dev/vdb1 /mnt/vdb1 ext4 rw,relatime 0 0',
      '/dev/mapper/vg0-data /srv/my\\040data xfs rw 0 0',
    ].join('\n');
    expect(parseProcMounts(text)).toEqual([
      { device: '/dev/vdb1', mountPoint: '/mnt/vdb1', type: 'ext4' },
      { device: '/dev/mapper/vg0-data', mountPoint: '/srv/my data', type: 'xfs' },
    ]);
  });
});
