import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository, type BlockSize, type Codec } from '@strongbox/repository';
import { FileDiskReader, backupDisk, restoreDisk } from '../src/index.js';
import { MiB, makeImage, tempDir } from './helpers.js';

const tmp = tempDir('roundtrip');
afterAll(tmp.cleanup);

const blockSizes: BlockSize[] = [262144, 524288, 1048576, 4194304];
const codecs: Codec[] = ['none', 'fast', 'optimal', 'high'];

describe('backup and restore round trip', () => {
  // 9.3 MiB: a partial last block at every block size.
  const size = 9 * MiB + 300 * 1024 + 17;
  const image = join(tmp.dir, 'image.raw');
  const data = makeImage(image, size);

  for (const blockSize of blockSizes) {
    it(`block size ${blockSize / 1024} KiB, every codec`, async () => {
      for (const codec of codecs) {
        // A repository per codec: in a shared one, the later codecs would dedup everything.
        const repo = await Repository.create(join(tmp.dir, `repo-${blockSize}-${codec}`), { blockSize });
        const writer = await repo.beginPoint({ vmId: 'vm1', kind: 'full', parent: null, config: null, codec });
        const reader = await FileDiskReader.open(image);
        const { stats } = await backupDisk(writer, 'vda', reader);
        await reader.close();
        const manifest = await writer.commit();
        expect(manifest.disks[0]).toMatchObject({ name: 'vda', size, blockSize, codec });
        const disk = manifest.disks[0]!;
        if (codec === 'none') expect(disk.storedBytes).toBeGreaterThan(disk.newBytes);
        else expect(disk.storedBytes).toBeLessThan(disk.newBytes * 0.8);
        expect(stats.bytesRead).toBe(size);
        expect(stats.bytesProcessed).toBe(size);
        expect(stats.totalBytes).toBe(size);
        const out = join(tmp.dir, `out-${blockSize}-${codec}.raw`);
        const point = await repo.openPoint(manifest.id);
        const { bytes } = await restoreDisk(point, 'vda', out);
        expect(bytes).toBe(size);
        expect(readFileSync(out).equals(data)).toBe(true);
        // Random reads across block edges, and the partial tail.
        for (const [offset, length] of [
          [0, 10],
          [blockSize - 3, 7],
          [size - 20, 20],
          [3 * MiB + 5, 2 * MiB],
          [size - 1, 1],
          [0, 0],
        ] as const) {
          expect((await point.disk('vda').read(offset, length)).equals(data.subarray(offset, offset + length))).toBe(true);
        }
        await point.close();
      }
    });
  }

  it('restores zero blocks as holes and overwrites an existing file entirely', async () => {
    const sparse = join(tmp.dir, 'sparse.raw');
    const content = Buffer.alloc(32 * MiB);
    content.fill(7, 5 * MiB, 6 * MiB);
    writeFileSync(sparse, content);
    const repo = await Repository.create(join(tmp.dir, 'repo-sparse'));
    const writer = await repo.beginPoint({ vmId: 'vm1', kind: 'full', parent: null, config: null });
    const reader = await FileDiskReader.open(sparse);
    const { stats } = await backupDisk(writer, 'vda', reader);
    await reader.close();
    expect(stats).toMatchObject({ zeroBlocks: 31, newChunks: 1 });
    const manifest = await writer.commit();
    const out = join(tmp.dir, 'sparse-out.raw');
    writeFileSync(out, Buffer.alloc(40 * MiB, 0xff));
    await restoreDisk(await repo.openPoint(manifest.id), 'vda', out);
    expect(readFileSync(out).equals(content)).toBe(true);
    expect(statSync(out).blocks * 512).toBeLessThanOrEqual(2 * MiB);
  });
});

describe('restore to a block device', () => {
  const haveLoop = (() => {
    try {
      execFileSync('losetup', ['--version']);
      return process.getuid?.() === 0;
    } catch {
      return false;
    }
  })();

  it.skipIf(!haveLoop)('writes zero blocks explicitly over old content', async () => {
    const backing = join(tmp.dir, 'loop-backing.raw');
    writeFileSync(backing, Buffer.alloc(12 * MiB, 0xee));
    const device = execFileSync('losetup', ['--find', '--show', backing], { encoding: 'utf8' }).trim();
    try {
      const image = join(tmp.dir, 'dev-image.raw');
      const data = Buffer.alloc(10 * MiB);
      data.fill(3, 2 * MiB, 3 * MiB + 5);
      writeFileSync(image, data);
      const repo = await Repository.create(join(tmp.dir, 'repo-dev'));
      const writer = await repo.beginPoint({ vmId: 'vm1', kind: 'full', parent: null, config: null });
      const reader = await FileDiskReader.open(image);
      await backupDisk(writer, 'vda', reader);
      await reader.close();
      const m = await writer.commit();
      await restoreDisk(await repo.openPoint(m.id), 'vda', device);
      const back = readFileSync(backing);
      expect(back.subarray(0, 10 * MiB).equals(data)).toBe(true);
      expect(back.subarray(10 * MiB).every((b) => b === 0xee)).toBe(true);
      // A device smaller than the disk is refused.
      const small = join(tmp.dir, 'small-backing.raw');
      writeFileSync(small, Buffer.alloc(MiB));
      const smallDev = execFileSync('losetup', ['--find', '--show', small], { encoding: 'utf8' }).trim();
      try {
        await expect(restoreDisk(await repo.openPoint(m.id), 'vda', smallDev)).rejects.toMatchObject({ code: 'TARGET' });
      } finally {
        execFileSync('losetup', ['-d', smallDev]);
      }
    } finally {
      execFileSync('losetup', ['-d', device]);
    }
  });
});
