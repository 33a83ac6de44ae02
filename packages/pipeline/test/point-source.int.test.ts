import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, openSync, readFileSync, closeSync, readSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChunkPool, Repository, type BlockSize, type PointDisk, type PointReader } from '@strongbox/repository';
// The server lives in @strongbox/nbd, which the pipeline does not depend on; the test brings the two together.
import { NbdServer, type ExportSource, type NbdError } from '../../nbd/src/index.js';
import { FileDiskReader, PointDiskSource, backupDisk, restoreDisk } from '../src/index.js';
import { KiB, MiB, makeImage, tempDir } from './helpers.js';

// The QEMU tools are clients of the server running in this process: they must never be run synchronously.
const run = promisify(execFile);
const haveTools = (() => {
  try {
    for (const tool of ['qemu-img', 'qemu-io', 'nbdinfo', 'nbdcopy']) execFileSync(tool, ['--version']);
    return true;
  } catch {
    return false;
  }
})();
if (!haveTools)
  console.warn('SKIPPING the QEMU parts of the point source tests: qemu-img / qemu-io / nbdinfo / nbdcopy are not installed (run `pnpm lab:up` as root)');

const tmp = tempDir('point-source');
afterAll(tmp.cleanup);
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const BS: BlockSize = 1048576;

/** Runs of zero and data blocks as the point's index records them, in nbdinfo's map form (type 3 = HOLE|ZERO). */
function indexMap(disk: PointDisk): { offset: number; length: number; type: number }[] {
  const out: { offset: number; length: number; type: number }[] = [];
  for (let b = 0; b < disk.blockCount; b++) {
    const type = disk.digestAt(b) === null ? 3 : 0;
    const last = out.at(-1);
    if (last && last.type === type) last.length += disk.blockLength(b);
    else out.push({ offset: b * disk.blockSize, length: disk.blockLength(b), type });
  }
  return out;
}
const dataBlocks = (disk: PointDisk) => Array.from({ length: disk.blockCount }, (_, b) => b).filter((b) => disk.digestAt(b) !== null);
const chunkPath = (disk: PointDisk, b: number) => disk.store.path(disk.digestAt(b)!.toString('hex'));

describe('a restore point served over NBD', () => {
  // 40 MiB + 192 KiB: a partial last block, a multiple of 512 (QEMU rounds an export's size up to it).
  const size = 40 * MiB + 192 * KiB;
  const imagePath = join(tmp.dir, 'vda.raw');
  const image = makeImage(imagePath, size);
  // Eight whole zero blocks, besides the zero regions inside data blocks.
  image.fill(0, 8 * MiB, 16 * MiB);
  writeFileSync(imagePath, image);
  const small = randomBytes(3 * MiB + 4096);
  const smallPath = join(tmp.dir, 'vdb.raw');
  writeFileSync(smallPath, small);

  const repoPath = join(tmp.dir, 'repo');
  const sock = join(tmp.dir, 'nbd.sock');
  const url = (name: string, socket = sock) => `nbd+unix:///${name}?socket=${socket}`;
  const errors: NbdError[] = [];
  let pointId: string;
  let point: PointReader;
  let pool: ChunkPool;
  let vda: PointDiskSource;
  let vdb: PointDiskSource;
  let server: NbdServer;

  beforeAll(async () => {
    const repo = await Repository.create(repoPath, { blockSize: BS });
    const writer = await repo.beginPoint({ vmId: 'vm1', kind: 'full', parent: null, config: null });
    for (const [name, path] of [
      ['vda', imagePath],
      ['vdb', smallPath],
    ] as const) {
      const reader = await FileDiskReader.open(path);
      await backupDisk(writer, name, reader);
      await reader.close();
    }
    pointId = (await writer.commit()).id;
    point = await repo.openPoint(pointId);
    // One pool for the disks of one VM, as Instant recovery will share it.
    pool = new ChunkPool(2);
    vda = new PointDiskSource(point.disk('vda'), { pool, cacheBytes: 64 * MiB });
    vdb = new PointDiskSource(point.disk('vdb'), { pool, verifyDigests: true });
    // PointDiskSource is what the server takes, checked by the compiler here.
    const exports = new Map<string, ExportSource>([
      ['vda', vda],
      ['vdb', vdb],
    ]);
    server = await NbdServer.listen({ unix: sock }, exports, { onError: (e) => errors.push(e) });
  });
  afterAll(async () => {
    await server?.close();
    await vda?.close();
    await vdb?.close();
    await pool?.close();
  });

  it('has zero blocks to serve as holes', () => {
    const map = indexMap(point.disk('vda'));
    expect(map.filter((m) => m.type === 3)).toEqual([{ offset: 8 * MiB, length: 8 * MiB, type: 3 }]);
  });

  describe.skipIf(!haveTools)('to the QEMU tools', () => {
    it('qemu-img convert gives the original disk byte for byte, as restoreDisk does, reading each chunk once', async () => {
      const out = join(tmp.dir, 'convert.raw');
      await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', url('vda'), out]);
      expect(md5(readFileSync(out))).toBe(md5(image));
      const restored = join(tmp.dir, 'restored.raw');
      await restoreDisk(point, 'vda', restored);
      expect(md5(readFileSync(restored))).toBe(md5(readFileSync(out)));
      const disk = point.disk('vda');
      const blocks = dataBlocks(disk);
      // Single-flight and a cache larger than the disk: every data block was read and decoded once.
      expect(vda.stats).toMatchObject({
        cacheMisses: blocks.length,
        bytesRead: blocks.reduce((n, b) => n + statSync(chunkPath(disk, b)).size, 0),
      });
      const vdbOut = join(tmp.dir, 'vdb.raw.out');
      await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', url('vdb'), vdbOut]);
      expect(readFileSync(vdbOut).equals(small)).toBe(true);
    });

    it('nbdinfo and qemu-img map report the zero blocks as holes that read as zeros; nbdinfo lists the exports', async () => {
      const expected = indexMap(point.disk('vda'));
      const map = JSON.parse((await run('nbdinfo', ['--json', '--map', url('vda')])).stdout) as { offset: number; length: number; type: number }[];
      expect(map.map(({ offset, length, type }) => ({ offset, length, type }))).toEqual(expected);
      const qmap = JSON.parse((await run('qemu-img', ['map', '--output=json', '-f', 'raw', url('vda')])).stdout) as {
        start: number;
        length: number;
        zero: boolean;
        data: boolean;
      }[];
      expect(qmap.map(({ start, length, zero, data }) => ({ start, length, zero, data }))).toEqual(
        expected.map((m) => ({ start: m.offset, length: m.length, zero: m.type === 3, data: m.type === 0 })),
      );
      const list = JSON.parse((await run('nbdinfo', ['--json', '--list', `nbd+unix://?socket=${sock}`])).stdout) as {
        exports: { 'export-name': string; 'export-size': number; block_size_preferred: number; is_read_only: boolean; can_multi_conn: boolean }[];
      };
      expect(list.exports.every((e) => e.is_read_only && e.can_multi_conn)).toBe(true);
      expect(list.exports.map((e) => [e['export-name'], e['export-size'], e.block_size_preferred])).toEqual([
        ['vda', size, BS],
        ['vdb', small.length, BS],
      ]);
    });

    it('backs a qcow2 overlay: writes land in the overlay, the point is unchanged', async () => {
      const overlay = join(tmp.dir, 'ov.qcow2');
      // QEMU 7.2 refuses a bare {"driver":"nbd",…} under -F raw ("A block device must be specified for file"): the raw format goes on top of it.
      const backing = `json:${JSON.stringify({ driver: 'raw', file: { driver: 'nbd', server: { type: 'unix', path: sock }, export: 'vda' } })}`;
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', backing, overlay]);
      await run('qemu-io', ['-f', 'qcow2', '-c', 'write -q -P 0xab 0 64k', '-c', 'write -q -P 0xcd 9M 4k', overlay]);
      const out = join(tmp.dir, 'ov.raw');
      await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', overlay, out]);
      const expected = Buffer.from(image);
      expected.fill(0xab, 0, 64 * KiB);
      expected.fill(0xcd, 9 * MiB, 9 * MiB + 4 * KiB);
      expect(md5(readFileSync(out))).toBe(md5(expected));
      // The export and the point still hold the original.
      const again = join(tmp.dir, 'again.raw');
      await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', url('vda'), again]);
      expect(md5(readFileSync(again))).toBe(md5(image));
      expect((await point.disk('vda').read(0, 64 * KiB)).equals(image.subarray(0, 64 * KiB))).toBe(true);
    });

    it('refuses to be written through NBD', async () => {
      const write = run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x11 0 4k', url('vda')]);
      // QEMU sees the read-only flag and refuses to open for writing, before any write is sent (the server's EPERM for a WRITE is tested in packages/nbd).
      await expect(write).rejects.toMatchObject({ stderr: expect.stringContaining('Permission denied') });
      const [head] = await Promise.all([vda.read(0, 4096)]);
      expect(head.equals(image.subarray(0, 4096))).toBe(true);
    });

    it('serves many concurrent readers over several connections each', async () => {
      const outs = [0, 1, 2].map((i) => join(tmp.dir, `many-${i}.raw`));
      const servedBefore = server.stats().get('vda')!.bytesServed;
      await Promise.all([
        run('nbdcopy', ['--connections=4', '--requests=16', url('vda'), outs[0]!]),
        run('nbdcopy', ['--connections=2', url('vda'), outs[1]!]),
        run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', url('vda'), outs[2]!]),
      ]);
      for (const out of outs) expect(md5(readFileSync(out))).toBe(md5(image));
      const stats = server.stats().get('vda')!;
      // nbdcopy skips the holes it learns of through base:allocation; qemu-img reads the whole disk.
      expect(stats.bytesServed - servedBefore).toBeGreaterThanOrEqual(size);
      expect(stats.lastRequestAt!.getTime()).toBeGreaterThan(Date.now() - 60_000);
      await vi.waitFor(() => expect(server.stats().get('vda')!.connections).toBe(0));
    });

    it('answers EIO for a range of a damaged chunk, names the chunk, and the connection serves other ranges', async () => {
      // A copy of the repository, so that nothing cached or shared with the other tests hides the damage.
      const damagedRepo = join(tmp.dir, 'repo-damaged');
      cpSync(repoPath, damagedRepo, { recursive: true });
      const damaged = await (await Repository.open(damagedRepo)).openPoint(pointId);
      const disk = damaged.disk('vda');
      // Block 20 is text and random data of its own: no other block shares its chunk.
      const bad = 20;
      const hex = disk.digestAt(bad)!.toString('hex');
      expect(dataBlocks(disk).filter((b) => disk.digestAt(b)!.toString('hex') === hex)).toEqual([bad]);
      const fd = openSync(chunkPath(disk, bad), 'r+');
      const bytes = Buffer.alloc(64);
      readSync(fd, bytes, 0, 64, 200);
      for (let i = 0; i < bytes.length; i++) bytes[i]! ^= 0xff;
      writeSync(fd, bytes, 0, 64, 200);
      closeSync(fd);

      const source = new PointDiskSource(disk);
      const badSock = join(tmp.dir, 'damaged.sock');
      const badErrors: NbdError[] = [];
      const badServer = await NbdServer.listen({ unix: badSock }, new Map([['vda', source]]), { onError: (e) => badErrors.push(e) });
      try {
        const r = await run('qemu-io', [
          '-r',
          '-f',
          'raw',
          '-c',
          `read -q ${bad * BS + 4096} 64k`,
          '-c',
          `read -P 0 ${10 * MiB} 64k`,
          '-c',
          `read -q ${bad * BS - 64 * KiB} 64k`,
          url('vda', badSock),
        ]).catch((e: { stdout: string; stderr: string }) => e);
        const output = r.stdout + r.stderr;
        expect(output).toMatch(/read failed: Input\/output error/);
        // The two good reads after it, on the same connection: the zero range matched its pattern, the data range read whole.
        expect(output).toMatch(/read 65536\/65536 bytes/);
        expect(output.match(/read failed/g)).toHaveLength(1);
        expect(badErrors.length).toBeGreaterThan(0);
        expect(badErrors.every((e) => e.code === 'NBD_SOURCE')).toBe(true);
        expect(badErrors[0]!.message).toContain(hex);
        expect(badErrors[0]!.cause).toMatchObject({ code: 'CHUNK_BAD' });
        // Reading the source directly: the same refusal, every time (a failed block is not cached).
        await expect(source.read(bad * BS, 10)).rejects.toMatchObject({ code: 'CHUNK_BAD', message: expect.stringContaining('crc') });
        await expect(source.read(bad * BS + BS - 10, 20)).rejects.toMatchObject({ code: 'CHUNK_BAD' });
        expect((await source.read((bad + 1) * BS, 10)).equals(image.subarray((bad + 1) * BS, (bad + 1) * BS + 10))).toBe(true);
      } finally {
        await badServer.close();
        await source.close();
      }
    });

    it('close() ends the clients and removes the socket', async () => {
      const p = join(tmp.dir, 'closing.sock');
      const s = await NbdServer.listen({ unix: p }, new Map([['vda', vda]]));
      // An interactive qemu-io holds its connection open until told to quit.
      const qemu = spawn('qemu-io', ['-r', '-f', 'raw', url('vda', p)], { stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      qemu.stdout.on('data', (b: Buffer) => (output += b.toString()));
      qemu.stderr.on('data', (b: Buffer) => (output += b.toString()));
      try {
        await vi.waitFor(() => expect(s.stats().get('vda')?.connections).toBe(1), { timeout: 10_000 });
        await s.close();
        expect(existsSync(p)).toBe(false);
        expect(s.stats().get('vda')!.connections).toBe(0);
        // The client learns it at its next request.
        qemu.stdin.write('read 0 4k\n');
        await vi.waitFor(() => expect(output).toMatch(/read failed: Input\/output error/), { timeout: 10_000 });
      } finally {
        qemu.kill();
      }
    });
  });

  describe('PointDiskSource', () => {
    it('reads any range, zero blocks without touching the store, and lists extents from the index', async () => {
      const s = new PointDiskSource(point.disk('vda'), { workers: 1 });
      try {
        for (const [offset, length] of [
          [0, 10],
          [BS - 3, 7],
          [8 * MiB - 100, 200],
          [size - 20, 20],
          [3 * MiB + 5, 5 * MiB],
          [size - 1, 1],
          [0, 0],
        ] as const) {
          expect((await s.read(offset, length)).equals(image.subarray(offset, offset + length))).toBe(true);
        }
        const before = s.stats;
        expect((await s.read(9 * MiB, 2 * MiB)).equals(Buffer.alloc(2 * MiB))).toBe(true);
        expect(s.stats).toEqual(before);
        expect(await s.extents(7 * MiB + 5, 2 * MiB)).toEqual([
          { length: MiB - 5, zero: false },
          { length: MiB + 5, zero: true },
        ]);
        await expect(s.read(size - 1, 2)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
        await expect(s.extents(-1, 2)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
      } finally {
        await s.close();
      }
      await expect(s.read(0, 10)).rejects.toMatchObject({ code: 'CANCELLED' });
    });

    it('shares one decode among concurrent requests for a block and keeps its cache within its bound', async () => {
      const disk = point.disk('vda');
      const s = new PointDiskSource(disk, { cacheBytes: 3 * BS });
      try {
        const got = await Promise.all(Array.from({ length: 10 }, (_, i) => s.read(2 * BS + i * 1000, 4096)));
        got.forEach((g, i) => expect(g.equals(image.subarray(2 * BS + i * 1000, 2 * BS + i * 1000 + 4096))).toBe(true));
        expect(s.stats).toMatchObject({ cacheMisses: 1, cacheHits: 9, bytesRead: statSync(chunkPath(disk, 2)).size, cachedBytes: BS });
        // Two passes over the disk with room for three blocks: every block is read again in the second.
        const blocks = dataBlocks(disk);
        for (let pass = 0; pass < 2; pass++) {
          for (let at = 0; at < size; at += BS) {
            const n = Math.min(BS, size - at);
            expect((await s.read(at, n)).equals(image.subarray(at, at + n))).toBe(true);
          }
        }
        expect(s.stats.cacheMisses).toBe(1 + 2 * blocks.length - (blocks.includes(2) ? 1 : 0));
        expect(s.stats.cachedBytes).toBeLessThanOrEqual(3 * BS);
        // The most recently used blocks stay: reading the last one again is a hit.
        const misses = s.stats.cacheMisses;
        await s.read(size - 10, 10);
        expect(s.stats.cacheMisses).toBe(misses);
      } finally {
        await s.close();
      }
    });
  });
});
