import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository } from '@strongbox/repository';
import { FileDiskReader, backupDisk, restoreDisk } from '../src/index.js';
import { MiB, makeImage, tempDir, text } from './helpers.js';

const tmp = tempDir('gc-concurrent');
afterAll(tmp.cleanup);

describe('GC while backups run', () => {
  it('never removes a chunk a running writer references, even with no margin and its parent deleted', async () => {
    const repo = await Repository.create(join(tmp.dir, 'repo'), { blockSize: 262144 });
    const image = join(tmp.dir, 'image.raw');
    const data = makeImage(image, 16 * MiB);
    const backup = async (
      kind: 'full' | 'incremental',
      parent: string | null,
      changed?: { offset: number; length: number }[],
      onBegun?: () => Promise<void>,
      from = image,
    ) => {
      const writer = await repo.beginPoint({ vmId: 'vm1', kind, parent, config: null });
      await onBegun?.();
      const reader = await FileDiskReader.open(from, changed ? { changed } : {});
      try {
        await backupDisk(writer, 'vda', reader);
      } finally {
        await reader.close();
      }
      return writer.commit();
    };
    const full = await backup('full', null);
    // Garbage that the second writer will dedup against by content.
    const other = join(tmp.dir, 'other.raw');
    const otherData = Buffer.concat([text(4 * MiB, 7), text(MiB, 3)]);
    writeFileSync(other, otherData);
    const w = await repo.beginPoint({ vmId: 'vm2', kind: 'full', parent: null, config: null });
    const r = await FileDiskReader.open(other);
    await backupDisk(w, 'vda', r);
    await r.close();
    const garbage = await w.commit();
    await repo.deletePoint(garbage.id);

    let stop = false;
    let runs = 0;
    const gcLoop = (async () => {
      while (!stop) {
        await repo.gc({ marginMs: 0 }).catch((e: { code?: string }) => {
          if (e.code !== 'REPO_GC_RUNNING') throw e;
        });
        runs++;
      }
    })();
    // Incremental from `full`, whose point is deleted as soon as the writer has begun;
    // a second writer reads everything (dedup by existence checks on disk).
    const [incr, again] = await Promise.all([
      backup('incremental', full.id, [{ offset: 5 * MiB, length: MiB }], () => repo.deletePoint(full.id)),
      backup('full', null, undefined, undefined, other),
    ]);
    stop = true;
    await gcLoop;
    expect(runs).toBeGreaterThan(0);
    await repo.gc({ marginMs: 0 });
    expect((await repo.verify()).bad).toEqual([]);
    for (const [id, expected] of [
      [incr.id, data],
      [again.id, otherData],
    ] as const) {
      const out = join(tmp.dir, 'out.raw');
      await restoreDisk(await repo.openPoint(id), 'vda', out);
      expect(readFileSync(out).equals(expected)).toBe(true);
    }
  });
});
