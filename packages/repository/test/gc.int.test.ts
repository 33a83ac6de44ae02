import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository } from '../src/index.js';
import { block, makePoint, tempDir, writeDisk } from './helpers.js';

const tmp = tempDir('gc');
afterAll(tmp.cleanup);

const chunkCount = (repo: Repository) => repo.stats().then((s) => s.chunks);

describe('garbage collection', () => {
  it('sweeps what no point references once the margin has passed, and nothing else', async () => {
    const repo = await Repository.create(join(tmp.dir, 'sweep'));
    const a = await makePoint(repo, 'vm1', [1, 2, 3]);
    const b = await makePoint(repo, 'vm1', [2, 3, 4]);
    expect(await chunkCount(repo)).toBe(4);
    await repo.deletePoint(a.id);
    const young = await repo.gc();
    expect(young).toMatchObject({ chunksDeleted: 0, keptYoung: 1 });
    const report = await repo.gc({ marginMs: -60_000 });
    expect(report.chunksDeleted).toBe(1);
    expect(report.bytesFreed).toBeGreaterThan(262144);
    expect(await chunkCount(repo)).toBe(3);
    expect((await repo.verify()).bad).toEqual([]);
    expect((await repo.listPoints()).map((p) => p.id)).toEqual([b.id]);
  });

  it('never removes a chunk that writers in the middle of a point reference', async () => {
    const repo = await Repository.create(join(tmp.dir, 'live'));
    const parent = await makePoint(repo, 'vm1', [1, 2, 3, 4]);
    const garbage = await makePoint(repo, 'vm2', [10, 11]);
    await repo.deletePoint(garbage.id); // 10 and 11 are now unreferenced and old
    await new Promise((r) => setTimeout(r, 30)); // past the filesystem's timestamp granularity

    // Writer 1: incremental from `parent`, has carried blocks and written a new chunk.
    const w1 = await repo.beginPoint({ vmId: 'vm1', kind: 'incremental', parent: parent.id, config: null });
    const d1 = w1.openDisk('vda', 5 * 262144);
    for (let i = 0; i < 4; i++) expect(d1.carry(i)).toBe(true);
    // Writer 2: dedups against the unreferenced chunk 10, which makes it young.
    const w2 = await repo.beginPoint({ vmId: 'vm2', kind: 'full', parent: null, config: null, blockSize: 262144 });
    const partial = writeDisk(w2, 'vda', [block(10, 262144), block(20, 262144)], 2 * 262144);
    await partial;

    // The parent goes (retention) and GC runs with no margin at all while both are open.
    await repo.deletePoint(parent.id);
    const report = await repo.gc({ marginMs: 0 });
    expect(report.chunksDeleted).toBe(1); // only 11
    await writeDisk(w1, 'vdb', [block(30, 262144)], 262144);
    await d1.finish();
    const m1 = await w1.commit();
    const m2 = await w2.commit();
    expect((await repo.verify({ pointIds: [m1.id, m2.id] })).bad).toEqual([]);
    expect(readdirSync(join(repo.path, 'locks'))).toEqual([]);
  });

  it('removes the debris of unfinished points and dead leases, not live ones', async () => {
    const repo = await Repository.create(join(tmp.dir, 'debris'));
    await makePoint(repo, 'vm1', [1]);
    // A dead writer's folder and lease (pid 2^22+1 is beyond pid_max here).
    const dead = join(repo.path, 'points', 'vm1', '20200101T000000.000Z');
    mkdirSync(dead);
    writeFileSync(join(dead, 'vda.idx'), 'torn');
    writeFileSync(
      join(repo.path, 'locks', 'dead.lease'),
      JSON.stringify({
        leaseId: 'dead',
        pointId: 'vm1/20200101T000000.000Z',
        parent: null,
        host: (await import('node:os')).hostname(),
        pid: 4194305,
        started: 0,
      }),
    );
    const live = await repo.beginPoint({ vmId: 'vm1', kind: 'full', parent: null, config: null });
    const report = await repo.gc({ marginMs: 0 });
    expect(report.debrisRemoved).toBe(2);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live.dir)).toBe(true);
    await live.abort();
    expect(existsSync(live.dir)).toBe(false);
    expect(readdirSync(join(repo.path, 'locks'))).toEqual([]);
  });
});
