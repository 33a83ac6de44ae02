import { appendFileSync, openSync, readFileSync, readSync, closeSync, truncateSync, unlinkSync, writeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository } from '../src/index.js';
import { block, makePoint, tempDir, writeDisk } from './helpers.js';

const tmp = tempDir('verify');
afterAll(tmp.cleanup);

const chunkFile = (repo: Repository, seed: number) => {
  const hex = require256(block(seed, 262144));
  return join(repo.path, 'chunks', hex.slice(0, 2), hex.slice(2, 4), hex);
};
import { createHash } from 'node:crypto';
const require256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('verify', () => {
  it('reports bit-flips, truncations and deletions with the points and ranges they break', async () => {
    const repo = await Repository.create(join(tmp.dir, 'r1'));
    // p1: blocks 1 2 3 4; p2 shares 2 and 3 (3 twice, adjacent), adds 5.
    const p1 = await makePoint(repo, 'vm1', [1, 2, 3, 4, null], { time: new Date('2026-01-01T00:00:00Z') });
    const p2 = await makePoint(repo, 'vm1', [5, 3, 3, 2, null], { time: new Date('2026-01-02T00:00:00Z') });
    expect((await repo.verify()).bad).toEqual([]);

    // Bit-flip in the payload of chunk 2, truncation of 3, deletion of 4, header damage on 5.
    const flip = (path: string, at: number) => {
      const fd = openSync(path, 'r+');
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, at);
      b[0]! ^= 0x10;
      writeSync(fd, b, 0, 1, at);
      closeSync(fd);
    };
    flip(chunkFile(repo, 2), 1000);
    truncateSync(chunkFile(repo, 3), 5000);
    unlinkSync(chunkFile(repo, 4));
    flip(chunkFile(repo, 5), 9);

    const progress: number[] = [];
    const bytes: { done: number; total: number }[] = [];
    const report = await repo.verify({
      onProgress: (done, _total, b) => {
        progress.push(done);
        bytes.push(b);
      },
    });
    expect(report.chunksChecked).toBe(5);
    expect(progress.at(-1)).toBe(5);
    // Five distinct full blocks of 256 KiB: the bar's figures in the raw bytes they hold.
    expect(bytes.at(-1)).toEqual({ done: 5 * 262144, total: 5 * 262144 });
    expect(bytes[0]).toEqual({ done: 262144, total: 5 * 262144 });
    const byDigest = new Map(report.bad.map((b) => [b.digest, b]));
    const d = (seed: number) => byDigest.get(require256(block(seed, 262144)));
    expect(report.bad).toHaveLength(4);
    expect(d(1)).toBeUndefined();
    expect(d(2)).toMatchObject({ problem: 'crc', points: [p1.id, p2.id] });
    expect(d(2)!.ranges).toEqual([
      { pointId: p1.id, disk: 'vda', offset: 262144, length: 262144 },
      { pointId: p2.id, disk: 'vda', offset: 3 * 262144, length: 262144 },
    ]);
    expect(d(3)).toMatchObject({ problem: 'truncated', points: [p1.id, p2.id] });
    expect(d(3)!.ranges).toContainEqual({ pointId: p2.id, disk: 'vda', offset: 262144, length: 2 * 262144 });
    expect(d(4)).toMatchObject({ problem: 'missing', points: [p1.id], ranges: [{ pointId: p1.id, disk: 'vda', offset: 3 * 262144, length: 262144 }] });
    expect(d(5)).toMatchObject({ problem: 'header', points: [p2.id] });

    // Only the given points.
    const only1 = await repo.verify({ pointIds: [p1.id] });
    expect(only1.chunksChecked).toBe(4);
    expect(only1.bad.map((b) => b.points)).not.toContainEqual([p2.id]);

    // Marked bad: the next point that sees block 2 writes it again, and the marks go.
    const writer = await repo.beginPoint({ vmId: 'vm1', kind: 'incremental', parent: p2.id, config: null, blockSize: 262144 });
    await writeDisk(writer, 'vda', [block(2, 262144), block(3, 262144), block(4, 262144), block(5, 262144)], 4 * 262144);
    await writer.commit();
    const after = await repo.verify();
    expect(after.bad).toEqual([]);
    expect(existsSync(join(repo.path, 'gc', 'bad', require256(block(2, 262144))))).toBe(false);
  });

  it('reports a chunk with trailing garbage as a header problem', async () => {
    const repo = await Repository.create(join(tmp.dir, 'r2'));
    const p = await makePoint(repo, 'vm1', [7]);
    appendFileSync(chunkFile(repo, 7), 'junk');
    const report = await repo.verify();
    expect(report.bad).toMatchObject([{ problem: 'header', points: [p.id] }]);
    expect(readFileSync(chunkFile(repo, 7)).length).toBeGreaterThan(0);
  });
});
