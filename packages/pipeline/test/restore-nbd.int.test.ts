import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repository, type BlockSize, type PointReader } from '@strongbox/repository';
// The pipeline does not depend on the NBD package; its tests drive the real client.
import { NbdClient, NbdDiskWriter } from '../../nbd/src/index.js';
import { startQemuNbd } from '../../nbd/test/qemu-nbd.js';
import { FileDiskReader, backupDisk, differingBlocks, restoreDisk, restoreDiskToNbd, type BlockTarget } from '../src/index.js';
import { KiB, tempDir, text } from './helpers.js';

const haveQemu = (() => {
  try {
    execFileSync('qemu-nbd', ['--version']);
    execFileSync('qemu-img', ['--version']);
    return true;
  } catch {
    return false;
  }
})();
if (!haveQemu) console.warn('SKIPPING restore-to-NBD tests: qemu-nbd / qemu-img are not installed (run `pnpm lab:up` as root)');

const tmp = tempDir('restore-nbd');
afterAll(tmp.cleanup);
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

const BS: BlockSize = 262144;
const BLOCKS = 41;
// 40 whole blocks and a partial one (a multiple of 512, so that a qcow2 of exactly this size can hold it).
const SIZE = 40 * BS + 4608;
const blockLength = (b: number) => Math.min(BS, SIZE - b * BS);
/** Blocks 5k+2 and 5k+4 are zero, the others hold data. */
const isData = (b: number) => b % 5 !== 2 && b % 5 !== 4;

type MapEntry = { start: number; length: number; data: boolean };
const qemuMap = (image: string, format: string): MapEntry[] => JSON.parse(sh('qemu-img', ['map', '-f', format, '--output=json', image])) as MapEntry[];
function dataBytesIn(map: MapEntry[], from: number, to: number): number {
  let n = 0;
  for (const m of map) if (m.data) n += Math.max(0, Math.min(to, m.start + m.length) - Math.max(from, m.start));
  return n;
}
const asRaw = (image: string, format: 'qcow2' | 'raw'): Buffer => {
  if (format === 'raw') return readFileSync(image);
  const out = `${image}.converted.raw`;
  sh('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', image, out]);
  return readFileSync(out);
};

let repo: Repository;
let pointA: PointReader;
let pointB: PointReader;
let imageA: Buffer;
let imageB: Buffer;

async function backup(data: Buffer, name: string): Promise<PointReader> {
  const path = join(tmp.dir, `${name}.raw`);
  writeFileSync(path, data);
  const writer = await repo.beginPoint({ vmId: `vm-${name}`, kind: 'full', parent: null, config: null });
  const reader = await FileDiskReader.open(path);
  await backupDisk(writer, 'vda', reader);
  await reader.close();
  return repo.openPoint((await writer.commit()).id);
}

/** Serves `image` with qemu-nbd for the time of `fn`, through a client that writes. */
async function withExport<T>(image: string, format: 'qcow2' | 'raw', fn: (client: NbdClient) => Promise<T>): Promise<T> {
  const sock = join(tmp.dir, `${format}-${Math.random().toString(36).slice(2)}.sock`);
  const server = await startQemuNbd(['-f', format, image], { socket: sock });
  try {
    const client = await NbdClient.connect({ endpoint: { kind: 'unix', path: sock }, exportName: '', connections: 2 });
    try {
      return await fn(client);
    } finally {
      await client.close();
    }
  } finally {
    await server.stop();
  }
}

describe.skipIf(!haveQemu)('restoring a point through NBD', () => {
  beforeAll(async () => {
    repo = await Repository.create(join(tmp.dir, 'repo'), { blockSize: BS });
    imageA = Buffer.alloc(SIZE);
    for (let b = 0; b < BLOCKS; b++) if (isData(b)) (b % 2 ? randomBytes(blockLength(b)) : text(blockLength(b), b)).copy(imageA, b * BS);
    pointA = await backup(imageA, 'a');
    // B: blocks 0 and 6 changed, data block 10 zeroed, zero block 12 filled.
    imageB = Buffer.from(imageA);
    randomBytes(BS).copy(imageB, 0);
    randomBytes(100).copy(imageB, 6 * BS + 1000);
    imageB.fill(0, 10 * BS, 11 * BS);
    randomBytes(BS).copy(imageB, 12 * BS);
    pointB = await backup(imageB, 'b');
  });

  it("into a new qcow2 with 'skip': the same bytes as restoreDisk, and the zero blocks stay unallocated", async () => {
    const reference = join(tmp.dir, 'reference.raw');
    await restoreDisk(pointA, 'vda', reference);
    const image = join(tmp.dir, 'fresh.qcow2');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', image, String(SIZE)]);
    const result = await withExport(image, 'qcow2', async (client) => {
      const r = await restoreDiskToNbd(pointA, 'vda', new NbdDiskWriter(client), { zeroBlocks: 'skip' });
      expect(client.stats).toMatchObject({ writeRequests: r.blocksWritten, zeroRequests: 0, flushRequests: 1 });
      return r;
    });
    const dataBlocks = Array.from({ length: BLOCKS }, (_, b) => b).filter(isData);
    const dataBytes = dataBlocks.reduce((s, b) => s + blockLength(b), 0);
    expect(result).toMatchObject({ bytes: dataBytes, blocksWritten: dataBlocks.length, blocksZeroed: 0, blocksSkipped: BLOCKS - dataBlocks.length });

    sh('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', reference, image]);
    expect(md5(asRaw(image, 'qcow2'))).toBe(md5(readFileSync(reference)));
    expect(md5(readFileSync(reference))).toBe(md5(imageA));
    const map = qemuMap(image, 'qcow2');
    expect(dataBytesIn(map, 0, SIZE)).toBe(dataBytes);
    for (let b = 0; b < BLOCKS; b++) if (!isData(b)) expect(dataBytesIn(map, b * BS, b * BS + blockLength(b))).toBe(0);
  });

  for (const format of ['qcow2', 'raw'] as const) {
    it(`over a dirtied ${format} image with 'write-zeroes': identical bytes, no old data through the zero blocks`, async () => {
      const image = join(tmp.dir, `dirty.${format}`);
      sh('qemu-img', ['create', '-q', '-f', format, image, String(SIZE + 64 * KiB)]);
      sh('qemu-io', ['-f', format, '-c', `write -q -P 0xab 0 ${SIZE + 64 * KiB}`, image]);
      const result = await withExport(image, format, (client) => restoreDiskToNbd(pointA, 'vda', new NbdDiskWriter(client), { zeroBlocks: 'write-zeroes' }));
      expect(result.blocksZeroed).toBe(BLOCKS - result.blocksWritten);
      expect(result.blocksSkipped).toBe(0);
      const back = asRaw(image, format);
      expect(back.subarray(0, SIZE).equals(imageA)).toBe(true);
      // Past the disk's end the target keeps what it had.
      expect(back.subarray(SIZE).every((b) => b === 0xab)).toBe(true);
      if (format === 'qcow2') for (let b = 0; b < BLOCKS; b++) if (!isData(b)) expect(dataBytesIn(qemuMap(image, 'qcow2'), b * BS, (b + 1) * BS)).toBe(0);
    });
  }

  it('rolls a disk back by writing only the blocks that differ', async () => {
    const image = join(tmp.dir, 'rollback.qcow2');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', image, String(SIZE)]);
    await withExport(image, 'qcow2', (client) => restoreDiskToNbd(pointB, 'vda', new NbdDiskWriter(client), { zeroBlocks: 'skip' }));
    expect(asRaw(image, 'qcow2').equals(imageB)).toBe(true);

    const differ = differingBlocks(pointA.disk('vda'), pointB.disk('vda'));
    expect([...differ]).toEqual([0, 6, 10, 12]);
    const result = await withExport(image, 'qcow2', async (client) => {
      const r = await restoreDiskToNbd(pointA, 'vda', new NbdDiskWriter(client), { zeroBlocks: 'write-zeroes', only: (b) => differ.has(b) });
      // Blocks 0, 6 and 10 hold data in A; block 12 is zero there.
      expect(client.stats).toMatchObject({ writeRequests: 3, bytesWritten: 3 * BS, zeroRequests: 1, bytesZeroed: BS, flushRequests: 1 });
      return r;
    });
    expect(result).toMatchObject({ blocksWritten: 3, blocksZeroed: 1, blocksSkipped: BLOCKS - 4, bytes: 3 * BS });
    expect(asRaw(image, 'qcow2').equals(imageA)).toBe(true);
  });

  it('stops writing when aborted mid-way, and flushes nothing', async () => {
    const image = join(tmp.dir, 'aborted.qcow2');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', image, String(SIZE)]);
    const stop = new AbortController();
    await withExport(image, 'qcow2', async (client) => {
      const writer = new NbdDiskWriter(client);
      let calls = 0;
      // The real writer, with the abort pulled after its fifth block.
      const target: BlockTarget = {
        size: writer.size,
        writeBlock: async (offset, data, release) => {
          await writer.writeBlock(offset, data, release);
          if (++calls === 5) stop.abort();
        },
        zero: (offset, length) => writer.zero(offset, length),
        finish: () => writer.finish(),
        abort: (reason) => writer.abort(reason),
      };
      await expect(restoreDiskToNbd(pointA, 'vda', target, { zeroBlocks: 'write-zeroes', signal: stop.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
      const sent = client.stats.writeRequests + client.stats.zeroRequests;
      await new Promise((r) => setTimeout(r, 100));
      expect(client.stats.writeRequests + client.stats.zeroRequests).toBe(sent);
      expect(client.stats).toMatchObject({ writeRequests: 5, flushRequests: 0 });
      expect(client.stats.bytesWritten).toBe(5 * BS);
      await expect(writer.writeBlock(0, Buffer.alloc(512))).rejects.toMatchObject({ code: 'CANCELLED' });
    });
    expect(dataBytesIn(qemuMap(image, 'qcow2'), 0, SIZE)).toBe(5 * BS);
  });

  it('refuses a target smaller than the disk, naming both sizes', async () => {
    const image = join(tmp.dir, 'small.qcow2');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', image, String(SIZE - 512)]);
    await withExport(image, 'qcow2', async (client) => {
      await expect(restoreDiskToNbd(pointA, 'vda', new NbdDiskWriter(client), { zeroBlocks: 'skip' })).rejects.toMatchObject({
        code: 'TARGET',
        message: `the target holds ${SIZE - 512} bytes, disk vda needs ${SIZE}`,
      });
      expect(client.stats.writeRequests).toBe(0);
    });
  });
});
