import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository } from '../src/index.js';
import { codeOf, editManifest, errorOf, pointFile, sha256hex, snapshot } from './damage.js';
import { block, makePoint, tempDir, writeDisk } from './helpers.js';

const tmp = tempDir('tamper');
afterAll(tmp.cleanup);

const bs = 262144;
const T1 = new Date('2026-03-01T00:00:00.000Z');
const T2 = new Date('2026-03-02T00:00:00.000Z');

describe('a point vouches for its own files', () => {
  it('an index swapped for another point’s (same size and block size) is refused by every reader, and nothing is lost to GC', async () => {
    const repo = await Repository.create(join(tmp.dir, 'swap'));
    const a = await makePoint(repo, 'vm1', [1, 2, 3], { time: T1 });
    const b = await makePoint(repo, 'vm1', [4, 5, 6], { time: T2 });
    copyFileSync(pointFile(repo, b.id, 'vda.idx'), pointFile(repo, a.id, 'vda.idx'));

    // Restore: refused, naming the point and the disk (it used to read b's bytes without a word).
    const err = await errorOf(repo.openPoint(a.id));
    expect(err.code).toBe('POINT_CORRUPT');
    expect(err.message).toContain(a.id);
    expect(err.message).toMatch(/disk vda/);
    expect(err.message).toMatch(/not the one point\.json records/);

    // Verify: a is damaged (its index), b is good, and b's chunks are still checked.
    const report = await repo.verify();
    expect(report.points).toEqual([
      {
        id: a.id,
        state: 'damaged',
        checks: 'full',
        chunks: 0,
        badChunks: 0,
        disks: [{ name: 'vda', state: 'damaged', index: { code: 'POINT_CORRUPT', message: expect.stringContaining(a.id) }, badChunks: 0 }],
      },
      { id: b.id, state: 'good', checks: 'full', chunks: 3, badChunks: 0, disks: [{ name: 'vda', state: 'good', index: null, badChunks: 0 }] },
    ]);
    expect(report).toMatchObject({ chunksChecked: 3, bad: [], pointsChecked: 2, pointsGood: 1, pointsDamaged: 1, pointsUnreadable: 0 });

    // A writer does not build on it (the copy of the parent's index is checked too), and leaves nothing behind.
    const before = snapshot(repo.path);
    expect(await codeOf(repo.beginPoint({ vmId: 'vm1', kind: 'incremental', parent: a.id, config: null, blockSize: bs }))).toBe('POINT_CORRUPT');
    expect(snapshot(repo.path)).toBe(before);

    // GC: with b deleted, trusting the swapped index would sweep a's real chunks 1 2 3. It refuses instead.
    await repo.deletePoint(b.id);
    const kept = snapshot(repo.path);
    const gcErr = await errorOf(repo.gc({ marginMs: -60_000 }));
    expect(gcErr.code).toBe('POINT_CORRUPT');
    expect(gcErr.message).toMatch(/nothing was deleted/);
    expect(gcErr.message).toContain(a.id);
    expect(snapshot(repo.path)).toBe(kept);
  });

  it('an index carries its point and disk: one put in another place is refused even when point.json was made to match', async () => {
    const repo = await Repository.create(join(tmp.dir, 'bound'));
    const a = await makePoint(repo, 'vm1', [1, 2], { time: T1 });
    const b = await makePoint(repo, 'vm1', [3, 4], { time: T2 });
    // Two disks of one geometry in one point.
    const w = await repo.beginPoint({ vmId: 'vm2', kind: 'full', parent: null, config: null, blockSize: bs });
    await writeDisk(w, 'vda', [block(5, bs), block(6, bs)], 2 * bs);
    await writeDisk(w, 'vdb', [block(7, bs), block(8, bs)], 2 * bs);
    const c = await w.commit();

    // b's index under a, and point.json's SHA-256 of it (and its checksum) brought in line: only the binding tells.
    copyFileSync(pointFile(repo, b.id, 'vda.idx'), pointFile(repo, a.id, 'vda.idx'));
    const swapped = sha256hex(readFileSync(pointFile(repo, a.id, 'vda.idx')));
    editManifest(pointFile(repo, a.id, 'point.json'), (m) => ((m.disks as { indexSha256: string }[])[0]!.indexSha256 = swapped));
    // c's two indexes exchanged, point.json likewise made to match.
    const [vda, vdb] = [readFileSync(pointFile(repo, c.id, 'vda.idx')), readFileSync(pointFile(repo, c.id, 'vdb.idx'))];
    writeFileSync(pointFile(repo, c.id, 'vda.idx'), vdb);
    writeFileSync(pointFile(repo, c.id, 'vdb.idx'), vda);
    editManifest(pointFile(repo, c.id, 'point.json'), (m) => {
      const disks = m.disks as { indexSha256: string }[];
      [disks[0]!.indexSha256, disks[1]!.indexSha256] = [sha256hex(vdb), sha256hex(vda)];
    });

    for (const [id, disk] of [
      [a.id, 'vda'],
      [c.id, 'vda'],
    ] as const) {
      const err = await errorOf(repo.openPoint(id));
      expect(err.code).toBe('POINT_CORRUPT');
      expect(err.message).toContain(`point ${id}, disk ${disk}`);
      expect(err.message).toMatch(/belongs to another point or disk/);
    }
    const report = await repo.verify();
    expect(report.points.map((p) => [p.id, p.state])).toEqual([
      [a.id, 'damaged'],
      [b.id, 'good'],
      [c.id, 'damaged'],
    ]);
    const cReport = report.points[2]!;
    expect(cReport.state !== 'unreadable' && cReport.disks.map((d) => [d.name, d.index?.code ?? null])).toEqual([
      ['vda', 'POINT_CORRUPT'],
      ['vdb', 'POINT_CORRUPT'],
    ]);
  });

  it('one changed digit in point.json (the VM’s memory in its saved configuration) makes the point unreadable, not a different VM', async () => {
    const repo = await Repository.create(join(tmp.dir, 'manifest'));
    const config = '<domain type="kvm"><name>db1</name><memory unit="KiB">131072</memory><vcpu>4</vcpu></domain>';
    const w = await repo.beginPoint({ vmId: 'db1', kind: 'full', parent: null, config, blockSize: bs, time: T1 });
    await writeDisk(w, 'vda', [block(1, bs)], bs);
    const p = await w.commit();
    const other = await makePoint(repo, 'db1', [2], { time: T2 });
    const file = pointFile(repo, p.id, 'point.json');
    const text = readFileSync(file, 'utf8');

    // Another serialization of the same content is the same point: the checksum is over the content.
    writeFileSync(file, JSON.stringify(JSON.parse(text)));
    expect((await repo.openPoint(p.id)).manifest.config).toBe(config);

    writeFileSync(file, text.replace('131072', '131073'));
    const err = await errorOf(repo.openPoint(p.id));
    expect(err.code).toBe('POINT_CORRUPT');
    expect(err.message).toContain(p.id);
    expect(err.message).toMatch(/checksum/);
    expect((await repo.listPoints()).map((x) => x.id)).toEqual([other.id]);
    expect((await repo.scan()).unreadable.map((u) => [u.id, u.error.code])).toEqual([[p.id, 'POINT_CORRUPT']]);
    const report = await repo.verify();
    expect(report.points).toEqual([
      { id: p.id, state: 'unreadable', error: { code: 'POINT_CORRUPT', message: expect.stringMatching(/checksum/) } },
      { id: other.id, state: 'good', checks: 'full', chunks: 1, badChunks: 0, disks: [{ name: 'vda', state: 'good', index: null, badChunks: 0 }] },
    ]);
    expect(report).toMatchObject({ pointsChecked: 2, pointsGood: 1, pointsUnreadable: 1, chunksChecked: 1 });
    // Not something to build on either.
    expect(await codeOf(repo.beginPoint({ vmId: 'db1', kind: 'incremental', parent: p.id, config: null }))).toBe('POINT_CORRUPT');
  });
});
