import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository } from '../src/index.js';
import { editManifest, errorOf, pointFile, writeLegacyPoint } from './damage.js';
import { block, makePoint, tempDir, writeDisk } from './helpers.js';

const tmp = tempDir('legacy');
afterAll(tmp.cleanup);

const bs = 262144;
const good = (id: string, checks: string, chunks: number, disks: string[]) => ({
  id,
  state: 'good',
  checks,
  chunks,
  badChunks: 0,
  disks: disks.map((name) => ({ name, state: 'good', index: null, badChunks: 0 })),
});

describe('points written before point.json checksums and index bindings (format version 1)', () => {
  it('open, list, restore, verify as good (sha256-only) and serve as a parent', async () => {
    const repo = await Repository.create(join(tmp.dir, 'v1'));
    const config = '<domain type="kvm"><memory unit="KiB">131072</memory></domain>';
    const old = writeLegacyPoint(
      repo,
      'vm1',
      new Date('2025-06-01T00:00:00.000Z'),
      [
        { name: 'vda', blocks: [block(1, bs), null, block(2, bs)] },
        { name: 'vdb', blocks: [block(3, bs)] },
      ],
      config,
    );
    expect(await repo.listPoints()).toEqual([
      expect.objectContaining({
        id: old,
        kind: 'full',
        parent: null,
        config,
        disks: [expect.objectContaining({ name: 'vda' }), expect.objectContaining({ name: 'vdb' })],
      }),
    ]);
    const reader = await repo.openPoint(old);
    expect(reader.manifest.formatVersion).toBe(1);
    expect((await reader.disk('vda').read(0, 3 * bs)).equals(Buffer.concat([block(1, bs), Buffer.alloc(bs), block(2, bs)]))).toBe(true);
    expect((await repo.verify()).points).toEqual([good(old, 'sha256-only', 3, ['vda', 'vdb'])]);

    // An incremental on top: the writer checks and copies the version 1 index, carries from it, and writes version 2.
    const w = await repo.beginPoint({ vmId: 'vm1', kind: 'incremental', parent: old, config, blockSize: bs });
    const d = w.openDisk('vda', 3 * bs);
    expect([0, 1, 2].map((i) => d.carry(i))).toEqual([true, true, true]);
    await d.finish();
    await writeDisk(w, 'vdb', [block(4, bs)], bs);
    const next = await w.commit();
    expect(next.formatVersion).toBe(2);
    expect((await (await repo.openPoint(next.id)).disk('vda').read(0, 3 * bs)).equals(await reader.disk('vda').read(0, 3 * bs))).toBe(true);
    const both = await repo.verify();
    expect(both.points).toEqual([good(old, 'sha256-only', 3, ['vda', 'vdb']), good(next.id, 'full', 3, ['vda', 'vdb'])]);
    expect(both).toMatchObject({ bad: [], pointsGood: 2, pointsDamaged: 0 });
    expect((await repo.gc({ marginMs: -60_000 })).chunksDeleted).toBe(0);
    await repo.deletePoint(old);
    expect((await repo.gc({ marginMs: -60_000 })).chunksDeleted).toBe(1); // block 3, only the old vdb had it
  });

  it('an index that is not the one a version 1 point.json records is still caught', async () => {
    const repo = await Repository.create(join(tmp.dir, 'v1-swap'));
    const a = writeLegacyPoint(repo, 'vm1', new Date('2025-06-01T00:00:00.000Z'), [{ name: 'vda', blocks: [block(1, bs), block(2, bs)] }], '<domain/>');
    const b = writeLegacyPoint(repo, 'vm1', new Date('2025-06-02T00:00:00.000Z'), [{ name: 'vda', blocks: [block(3, bs), block(4, bs)] }], '<domain/>');
    copyFileSync(pointFile(repo, b, 'vda.idx'), pointFile(repo, a, 'vda.idx'));
    expect((await errorOf(repo.openPoint(a))).code).toBe('POINT_CORRUPT');
    expect((await repo.verify()).points.map((p) => [p.id, p.state])).toEqual([
      [a, 'damaged'],
      [b, 'good'],
    ]);
  });

  it('a point of a newer format than this build is unreadable with POINT_VERSION, not damaged', async () => {
    const repo = await Repository.create(join(tmp.dir, 'newer'));
    const p = await makePoint(repo, 'vm1', [1]);
    editManifest(pointFile(repo, p.id, 'point.json'), (m) => (m.formatVersion = 3), false);
    const err = await errorOf(repo.openPoint(p.id));
    expect(err.code).toBe('POINT_VERSION');
    expect(err.message).toMatch(/point format version 3 is not supported/);
    expect((await repo.verify()).points).toEqual([{ id: p.id, state: 'unreadable', error: { code: 'POINT_VERSION', message: expect.stringContaining(p.id) } }]);
  });
});
