import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository, encodeChunk, maxChunkBytes } from '../src/index.js';
import { chunkPath, errorOf, flipBit, sha256hex } from './damage.js';
import { block, makePoint, tempDir } from './helpers.js';

const tmp = tempDir('heal');
afterAll(tmp.cleanup);

const bs = 262144;

describe('a chunk verify marked bad heals with the next backup', () => {
  it('is written again by the next point, also by one that reads only changed blocks and would carry it over', async () => {
    const repo = await Repository.create(join(tmp.dir, 'r'));
    const p1 = await makePoint(repo, 'vm1', [1, 2, 3]);
    const hex = sha256hex(block(2, bs));
    flipBit(chunkPath(repo, block(2, bs)), 4000);
    const first = await repo.verify();
    expect(first.bad).toMatchObject([{ digest: hex, problem: 'crc' }]);
    expect(readdirSync(join(repo.path, 'gc', 'bad'))).toEqual([hex]);
    const restoreErr = await errorOf((await repo.openPoint(p1.id)).disk('vda').read(bs, bs));
    expect(restoreErr.code).toBe('CHUNK_BAD');
    expect(restoreErr.message).toContain(hex);

    // Nothing changed on the source: an incremental from changed-block tracking would carry all three blocks.
    const w = await repo.beginPoint({ vmId: 'vm1', kind: 'incremental', parent: p1.id, config: null, blockSize: bs });
    const d = w.openDisk('vda', 3 * bs);
    expect([0, 1, 2].map((i) => d.carry(i))).toEqual([true, false, true]);
    // What the pipeline does with a block it cannot carry: reads it from the source and offers it.
    const raw = block(2, bs);
    const digest = createHash('sha256').update(raw).digest();
    expect(await d.need(digest)).toBe(true);
    const out = Buffer.alloc(maxChunkBytes(bs));
    await d.put(digest, Buffer.from(out.subarray(0, encodeChunk(raw, d.level, out))), bs);
    d.setBlock(1, digest);
    await d.finish();
    const p2 = await w.commit();

    expect(existsSync(join(repo.path, 'gc', 'bad', hex))).toBe(false);
    const second = await repo.verify();
    expect(second).toMatchObject({ bad: [], pointsGood: 2, pointsDamaged: 0 });
    expect(second.points.map((p) => p.id)).toEqual([p1.id, p2.id]);
    // The old point is whole again too: it shares the rewritten chunk.
    expect((await (await repo.openPoint(p1.id)).disk('vda').read(bs, bs)).equals(raw)).toBe(true);
  });
});
