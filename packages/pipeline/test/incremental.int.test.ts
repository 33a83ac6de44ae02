import { closeSync, copyFileSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository, type PointReader } from '@strongbox/repository';
import { FileDiskReader, PipelineError, backupDisk, restoreDisk } from '../src/index.js';
import { KiB, MiB, makeImage, tempDir, text } from './helpers.js';

const tmp = tempDir('incremental');
afterAll(tmp.cleanup);

async function backup(
  repo: Repository,
  image: string,
  o: { parent?: string; changed?: { offset: number; length: number }[]; vmId?: string; disk?: string } = {},
) {
  const writer = await repo.beginPoint({ vmId: o.vmId ?? 'vm1', kind: o.parent ? 'incremental' : 'full', parent: o.parent ?? null, config: null });
  const reader = await FileDiskReader.open(image, o.changed ? { changed: o.changed } : {});
  try {
    const { stats } = await backupDisk(writer, o.disk ?? 'vda', reader);
    return { stats, manifest: await writer.commit() };
  } catch (e) {
    await writer.abort();
    throw e;
  } finally {
    await reader.close();
  }
}

const digests = (p: PointReader, disk = 'vda') => {
  const d = p.disk(disk);
  return Array.from({ length: d.blockCount }, (_, i) => d.digestAt(i)?.toString('hex') ?? null);
};

describe('incremental and dedup', () => {
  it('dedups across two images sharing data', async () => {
    const repo = await Repository.create(join(tmp.dir, 'dedup'));
    const a = join(tmp.dir, 'a.raw');
    const b = join(tmp.dir, 'b.raw');
    const dataA = makeImage(a, 8 * MiB);
    // b: the first 5 MiB of a, then 3 MiB of its own.
    const dataB = Buffer.concat([dataA.subarray(0, 5 * MiB), text(3 * MiB, 99)]);
    writeFileSync(b, dataB);
    const first = await backup(repo, a, { vmId: 'vm-a' });
    expect(first.stats.newChunks).toBe(8);
    const second = await backup(repo, b, { vmId: 'vm-b' });
    expect(second.stats).toMatchObject({ newChunks: 3, bytesRead: 8 * MiB });
    expect(second.manifest.disks[0]!.newBytes).toBe(3 * MiB);
    const again = await backup(repo, b, { vmId: 'vm-b' });
    expect(again.stats).toMatchObject({ newChunks: 0, bytesWritten: 0 });
    expect((await repo.stats()).chunks).toBe(11);
    const out = join(tmp.dir, 'b-out.raw');
    await restoreDisk(await repo.openPoint(second.manifest.id), 'vda', out);
    expect(readFileSync(out).equals(dataB)).toBe(true);
  });

  it('gives identical indexes with and without an extent list, reading only changed blocks', async () => {
    const repo = await Repository.create(join(tmp.dir, 'incr'));
    const image = join(tmp.dir, 'disk.raw');
    makeImage(image, 20 * MiB + 5000);
    const full = await backup(repo, image);
    // Scattered changes at 4 KiB-aligned offsets: one inside a block, one across a block edge,
    // one in the partial last block, and an exactly block-aligned 1 MiB.
    const changes = [
      { offset: 3 * MiB + 8 * KiB, length: 4 * KiB },
      { offset: 7 * MiB - 64 * KiB, length: 128 * KiB },
      { offset: 20 * MiB, length: 4 * KiB },
      { offset: 12 * MiB, length: MiB },
    ];
    const fd = openSync(image, 'r+');
    for (const c of changes) writeSync(fd, Buffer.alloc(c.length, 0x5a), 0, c.length, c.offset);
    closeSync(fd);
    const withList = await backup(repo, image, { parent: full.manifest.id, changed: changes });
    expect(withList.stats.carriedBlocks).toBe(21 - 5);
    expect(withList.stats.bytesRead).toBe(4 * MiB + 5000);
    expect(withList.stats.newChunks).toBe(5);
    const without = await backup(repo, image, { parent: full.manifest.id });
    expect(without.stats.carriedBlocks).toBe(0);
    expect(without.stats.newChunks).toBe(0);
    const p1 = await repo.openPoint(withList.manifest.id);
    const p2 = await repo.openPoint(without.manifest.id);
    expect(digests(p1)).toEqual(digests(p2));
    expect(digests(p1)).not.toEqual(digests(await repo.openPoint(full.manifest.id)));
    const out = join(tmp.dir, 'incr-out.raw');
    await restoreDisk(p1, 'vda', out);
    expect(readFileSync(out).equals(readFileSync(image))).toBe(true);
  });

  it('reads 1 MiB for a 1 MiB change (what backup:vm prints)', async () => {
    const repo = await Repository.create(join(tmp.dir, 'one'));
    const image = join(tmp.dir, 'one.raw');
    makeImage(image, 16 * MiB);
    const full = await backup(repo, image);
    const incr = await backup(repo, image, { parent: full.manifest.id, changed: [{ offset: 5 * MiB, length: MiB }] });
    expect(incr.stats.bytesRead).toBe(MiB);
    expect(incr.stats.carriedBlocks).toBe(15);
  });

  it('refuses a changed-blocks reader without a parent, and changes nothing', async () => {
    const repo = await Repository.create(join(tmp.dir, 'noparent'));
    const image = join(tmp.dir, 'np.raw');
    makeImage(image, 2 * MiB);
    const err = await backup(repo, image, { changed: [{ offset: 0, length: 4096 }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe('PARENT_REQUIRED');
    expect(await repo.stats()).toEqual({ points: 0, chunks: 0, bytes: 0 });
  });

  it('carries a disk that grew only as far as the parent had it', async () => {
    const repo = await Repository.create(join(tmp.dir, 'grow'));
    const image = join(tmp.dir, 'grow.raw');
    const data = makeImage(image, 3 * MiB + 100);
    const full = await backup(repo, image);
    const grown = Buffer.concat([data, text(2 * MiB, 5)]);
    writeFileSync(image, grown);
    const incr = await backup(repo, image, { parent: full.manifest.id, changed: [] });
    expect(incr.stats.carriedBlocks).toBe(3);
    const out = join(tmp.dir, 'grow-out.raw');
    await restoreDisk(await repo.openPoint(incr.manifest.id), 'vda', out);
    expect(readFileSync(out).equals(grown)).toBe(true);
    copyFileSync(out, join(tmp.dir, 'unused'));
  });
});
