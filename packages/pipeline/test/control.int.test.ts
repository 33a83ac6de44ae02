import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository } from '@strongbox/repository';
import type { DiskExtent, DiskReader } from '@strongbox/core';
import { FileDiskReader, PipelineError, Throttle, backupDisk, restoreDisk, type Progress } from '../src/index.js';
import { MiB, makeImage, tempDir } from './helpers.js';

const tmp = tempDir('control');
afterAll(tmp.cleanup);
const image = join(tmp.dir, 'image.raw');
makeImage(image, 8 * MiB);

describe('pipeline control', () => {
  it('reports progress with busy fractions and a bottleneck, and obeys a shared throttle', async () => {
    const repo = await Repository.create(join(tmp.dir, 'throttle'));
    const throttle = new Throttle(8 * MiB);
    const writer = await repo.beginPoint({ vmId: 'vm1', kind: 'full', parent: null, config: null });
    const seen: Progress[] = [];
    const readers = await Promise.all([FileDiskReader.open(image), FileDiskReader.open(image)]);
    // Two disks sharing 8 MiB/s: 16 MiB in about two seconds, most of it waiting.
    const [a, b] = await Promise.all([
      backupDisk(writer, 'vda', readers[0], { throttle, onProgress: (p) => seen.push(p), progressMs: 100 }),
      backupDisk(writer, 'vdb', readers[1], { throttle }),
    ]);
    await Promise.all(readers.map((r) => r.close()));
    await writer.commit();
    expect(a.stats.throttledMs + b.stats.throttledMs).toBeGreaterThan(0);
    expect(a.stats.bottleneck).toBe('throttling');
    expect(seen.length).toBeGreaterThan(1);
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ bytesRead: 8 * MiB, bytesProcessed: 8 * MiB, totalBytes: 8 * MiB });
    expect(last.rate).toBeGreaterThan(0);
    for (const v of Object.values(last.busy)) expect(v).toBeGreaterThanOrEqual(0);
    expect(a.stats.bytesWritten + b.stats.bytesWritten).toBeGreaterThan(0);
    throttle.setRate(null);
    expect(await throttle.take(1e12)).toBe(0);
  });

  it('cancels promptly with CANCELLED, and abort leaves nothing behind', async () => {
    const repo = await Repository.create(join(tmp.dir, 'cancel'));
    const writer = await repo.beginPoint({ vmId: 'vm1', kind: 'full', parent: null, config: null, blockSize: 262144 });
    const controller = new AbortController();
    // A slow source: the abort comes while reads are in flight.
    const slow: DiskReader = {
      size: 64 * MiB,
      mode: 'allocated',
      async *extents(): AsyncIterable<DiskExtent> {
        yield { offset: 0, length: 64 * MiB, zero: false };
      },
      async read(offset, length) {
        await new Promise((r) => setTimeout(r, 20));
        return Buffer.alloc(length, offset / 262144);
      },
      async close() {},
    };
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    const err = await backupDisk(writer, 'vda', slow, { signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe('CANCELLED');
    expect(Date.now() - started).toBeLessThan(10_000);
    await writer.abort();
    expect(readdirSync(join(repo.path, 'locks'))).toEqual([]);
    expect(readdirSync(join(repo.path, 'points', 'vm1'))).toEqual([]);
    expect((await repo.scan()).unfinished).toEqual([]);
  });

  it('a source read error fails the disk with SOURCE_READ', async () => {
    const repo = await Repository.create(join(tmp.dir, 'readerr'));
    const writer = await repo.beginPoint({ vmId: 'vm1', kind: 'full', parent: null, config: null });
    const broken: DiskReader = {
      size: 4 * MiB,
      mode: 'allocated',
      async *extents(): AsyncIterable<DiskExtent> {
        yield { offset: 0, length: 4 * MiB, zero: false };
      },
      async read(offset) {
        if (offset >= 2 * MiB) throw new Error('EIO on the export');
        return Buffer.alloc(MiB, 1);
      },
      async close() {},
    };
    const err = await backupDisk(writer, 'vda', broken).catch((e: unknown) => e);
    expect((err as PipelineError).code).toBe('SOURCE_READ');
    expect((err as Error).message).toMatch(/EIO on the export/);
    await writer.abort();
  });

  it('leaves no thread or handle behind: the process exits by itself', () => {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'exit-child.ts'), join(tmp.dir, 'exit-repo'), image, join(tmp.dir, 'exit.raw')],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(out.trim()).toBe('done');
    expect(readFileSync(join(tmp.dir, 'exit.raw')).equals(readFileSync(image))).toBe(true);
  });
});

describe('restore control', () => {
  it('a cancelled restore ends with CANCELLED', async () => {
    const repo = await Repository.create(join(tmp.dir, 'restore-cancel'));
    const writer = await repo.beginPoint({ vmId: 'vm1', kind: 'full', parent: null, config: null });
    const reader = await FileDiskReader.open(image);
    await backupDisk(writer, 'vda', reader);
    await reader.close();
    const m = await writer.commit();
    const controller = new AbortController();
    controller.abort();
    const err = await restoreDisk(await repo.openPoint(m.id), 'vda', join(tmp.dir, 'cancelled.raw'), { signal: controller.signal }).catch((e: unknown) => e);
    expect((err as PipelineError).code).toBe('CANCELLED');
    const seen: number[] = [];
    const { bytes } = await restoreDisk(await repo.openPoint(m.id), 'vda', join(tmp.dir, 'done.raw'), { onProgress: (p) => seen.push(p.bytesDone) });
    expect(bytes).toBe(8 * MiB);
    expect(seen.at(-1)).toBe(8 * MiB);
  });
});
