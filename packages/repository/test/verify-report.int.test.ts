import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository } from '../src/index.js';
import { chunkPath, flipBit, pointFile } from './damage.js';
import { block, makePoint, tempDir, writeDisk } from './helpers.js';

const tmp = tempDir('verify-report');
afterAll(tmp.cleanup);

const bs = 262144;
const dayMs = 86_400_000;

describe('verify reports every point', () => {
  it('goes on past a truncated point.json and a damaged index, and says what each point is', async () => {
    const repo = await Repository.create(join(tmp.dir, 'r'));
    // 21 points of two chunks of their own each.
    const ids: string[] = [];
    for (let i = 0; i < 21; i++) ids.push((await makePoint(repo, `vm${i % 3}`, [2 * i, 2 * i + 1], { time: new Date(Date.UTC(2026, 0, 1) + i * dayMs) })).id);
    const [truncated, badIndex, badChunk] = [ids[5]!, ids[9]!, ids[13]!];
    const text = readFileSync(pointFile(repo, truncated, 'point.json'), 'utf8');
    writeFileSync(pointFile(repo, truncated, 'point.json'), text.slice(0, text.length / 2));
    flipBit(pointFile(repo, badIndex, 'vda.idx'), 100); // an entry
    flipBit(chunkPath(repo, block(26, bs)), 5000); // first chunk of point 13: payload
    // An unfinished point folder is not a point.
    mkdirSync(join(repo.path, 'points', 'vm0', '20250101T000000.000Z'));

    const report = await repo.verify();
    expect(report.points.map((p) => p.id)).toEqual(ids);
    expect(report).toMatchObject({ pointsChecked: 21, pointsGood: 18, pointsDamaged: 2, pointsUnreadable: 1 });
    expect(report.chunksChecked).toBe(2 * 19);
    expect(report.bad).toMatchObject([{ problem: 'crc', points: [badChunk] }]);
    const byId = new Map(report.points.map((p) => [p.id, p]));
    expect(byId.get(truncated)).toEqual({
      id: truncated,
      state: 'unreadable',
      error: { code: 'POINT_CORRUPT', message: expect.stringMatching(/not valid JSON/) },
    });
    expect(byId.get(badIndex)).toEqual({
      id: badIndex,
      state: 'damaged',
      checks: 'full',
      chunks: 0,
      badChunks: 0,
      disks: [
        { name: 'vda', state: 'damaged', index: { code: 'POINT_CORRUPT', message: expect.stringContaining(`point ${badIndex}, disk vda`) }, badChunks: 0 },
      ],
    });
    expect(byId.get(badChunk)).toEqual({
      id: badChunk,
      state: 'damaged',
      checks: 'full',
      chunks: 2,
      badChunks: 1,
      disks: [{ name: 'vda', state: 'damaged', index: null, badChunks: 1 }],
    });
    expect(byId.get(ids[0]!)).toEqual({
      id: ids[0],
      state: 'good',
      checks: 'full',
      chunks: 2,
      badChunks: 0,
      disks: [{ name: 'vda', state: 'good', index: null, badChunks: 0 }],
    });

    // Asked by id: exactly those, in that order, an absent one included.
    const absent = 'vm1/20990101T000000.000Z';
    const some = await repo.verify({ pointIds: [badChunk, truncated, absent, ids[0]!] });
    expect(some.points.map((p) => [p.id, p.state])).toEqual([
      [badChunk, 'damaged'],
      [truncated, 'unreadable'],
      [absent, 'unreadable'],
      [ids[0], 'good'],
    ]);
    expect(some.points[2]).toMatchObject({ error: { code: 'POINT_NOT_FOUND' } });
    expect(some).toMatchObject({ chunksChecked: 4, pointsChecked: 4, pointsGood: 1, pointsDamaged: 1, pointsUnreadable: 2 });
  });

  it('shares a bad chunk out to every point and disk that uses it', async () => {
    const repo = await Repository.create(join(tmp.dir, 'shared'));
    const a = await makePoint(repo, 'vm1', [1, 2, 2], { time: new Date('2026-02-01T00:00:00Z') });
    const b = await makePoint(repo, 'vm2', [2, 3], { time: new Date('2026-02-02T00:00:00Z') });
    const c = await makePoint(repo, 'vm2', [3, 4], { time: new Date('2026-02-03T00:00:00Z') });
    flipBit(chunkPath(repo, block(2, bs)), 3000);
    const report = await repo.verify();
    expect(report.points.map((p) => (p.state === 'unreadable' ? null : [p.id, p.state, p.chunks, p.badChunks]))).toEqual([
      [a.id, 'damaged', 2, 1],
      [b.id, 'damaged', 2, 1],
      [c.id, 'good', 2, 0],
    ]);
    expect(report.bad[0]!.ranges).toEqual([
      { pointId: a.id, disk: 'vda', offset: bs, length: 2 * bs },
      { pointId: b.id, disk: 'vda', offset: 0, length: bs },
    ]);
  });

  it('a truncated index alone still leaves the other disks of its point checked', async () => {
    const repo = await Repository.create(join(tmp.dir, 'disks'));
    const w = await repo.beginPoint({ vmId: 'vm1', kind: 'full', parent: null, config: null, blockSize: bs });
    await writeDisk(w, 'vda', [block(1, bs)], bs);
    await writeDisk(w, 'vdb', [block(2, bs), block(3, bs)], 2 * bs);
    const p = await w.commit();
    truncateSync(pointFile(repo, p.id, 'vda.idx'), 50);
    const report = await repo.verify();
    expect(report.points).toEqual([
      {
        id: p.id,
        state: 'damaged',
        checks: 'full',
        chunks: 2,
        badChunks: 0,
        disks: [
          { name: 'vda', state: 'damaged', index: { code: 'POINT_CORRUPT', message: expect.stringContaining(`point ${p.id}, disk vda`) }, badChunks: 0 },
          { name: 'vdb', state: 'good', index: null, badChunks: 0 },
        ],
      },
    ]);
    expect(report.chunksChecked).toBe(2);
  });
});
