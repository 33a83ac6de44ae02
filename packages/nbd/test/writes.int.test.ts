import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NbdClient, NbdConnection, NbdDiskWriter, NbdError } from '../src/index.js';
import {
  CMD,
  CMD_FLAG,
  IHAVEOPT,
  NBDMAGIC,
  OPT,
  OPTION_REPLY_MAGIC,
  REP,
  REP_ERR,
  REQUEST_MAGIC,
  SIMPLE_REPLY_MAGIC,
  TRANSMISSION_FLAGS,
} from '../src/protocol.js';
import { startQemuNbd, type QemuNbd } from './qemu-nbd.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const haveQemu = (() => {
  try {
    execFileSync('qemu-nbd', ['--version']);
    execFileSync('qemu-img', ['--version']);
    return true;
  } catch {
    return false;
  }
})();
if (!haveQemu) console.warn('SKIPPING NBD write tests: qemu-nbd / qemu-img are not installed (run `pnpm lab:up` as root)');
const isRoot = process.getuid?.() === 0;

const dir = mkdtempSync(join(tmpdir(), 'strongbox-nbd-writes-'));
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type MapEntry = { start: number; length: number; data: boolean; zero: boolean };
const qemuMap = (image: string, format: string): MapEntry[] => JSON.parse(sh('qemu-img', ['map', '-f', format, '--output=json', image])) as MapEntry[];
/** Bytes of [from, to) that qemu-img map shows as data. */
function dataBytesIn(map: MapEntry[], from: number, to: number): number {
  let n = 0;
  for (const m of map) if (m.data) n += Math.max(0, Math.min(to, m.start + m.length) - Math.max(from, m.start));
  return n;
}
const allocated = (path: string) => statSync(path).blocks * 512;
const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e as NbdError,
  );

describe.skipIf(!haveQemu)('NBD client writes against qemu-nbd', () => {
  for (const format of ['qcow2', 'raw'] as const) {
    it(`writes, zeroes and flushes a fresh ${format} image, many requests in flight; the image holds exactly that`, async () => {
      const image = join(dir, `fresh.${format}`);
      const sock = join(dir, `fresh-${format}.sock`);
      sh('qemu-img', ['create', '-q', '-f', format, image, '48M']);
      // The qcow2 server takes several clients and announces multi-conn; the raw one takes one and does not.
      const server = await startQemuNbd(['-f', format, '-x', 'disk', image], { socket: sock }, { shared: format === 'qcow2' ? 8 : 1 });
      try {
        const client = await NbdClient.connect({ endpoint: { kind: 'unix', path: sock }, exportName: 'disk', connections: 4 });
        expect(client.connectionCount).toBe(format === 'qcow2' ? 4 : 1);
        expect(client).toMatchObject({ readOnly: false, canWriteZeroes: true, canFlush: true, minBlockSize: 1 });
        const model = Buffer.alloc(48 * MiB);

        // Larger than the server's 32 MiB payload limit: two requests.
        const big = randomBytes(36 * MiB + 123);
        await client.write(3 * MiB + 5, big);
        big.copy(model, 3 * MiB + 5);
        expect(client.stats.writeRequests).toBe(2);

        // Odd offsets and lengths, each in its own 512 KiB slot, all at once.
        const writes = Array.from({ length: 90 }, (_, i) => ({
          offset: i * 512 * KiB + ((i * 7919) % 1000),
          data: randomBytes(1 + ((i * 104729) % (500 * KiB))),
        }));
        await Promise.all(writes.map((w) => client.write(w.offset, w.data)));
        for (const w of writes) w.data.copy(model, w.offset);

        await client.writeZeroes(5 * MiB + 3, 4 * MiB + 8);
        model.fill(0, 5 * MiB + 3, 9 * MiB + 11);
        await client.writeZeroes(40 * MiB, 8 * MiB, { punchHole: false });
        model.fill(0, 40 * MiB);
        expect(client.stats).toMatchObject({ bytesZeroed: 12 * MiB + 8, zeroRequests: 2, writeRequests: 92 });

        expect(await client.flush()).toBe(true);
        // Multi-conn: one flush covers every connection; a single connection needs one anyway.
        expect(client.stats.flushRequests).toBe(1);
        expect((await client.read(0, client.size)).equals(model)).toBe(true);
        await client.close();
        await server.stop();

        const raw = format === 'raw' ? image : join(dir, 'fresh-converted.raw');
        if (format === 'qcow2') sh('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', image, raw]);
        expect(readFileSync(raw).equals(model)).toBe(true);
        if (format === 'qcow2') {
          // Zeroes allowed to punch holes leave the qcow2 clusters without data.
          expect(dataBytesIn(qemuMap(image, 'qcow2'), 5 * MiB + 64 * KiB, 9 * MiB)).toBe(0);
        }
      } finally {
        await server.stop();
      }
    });
  }

  it('punches holes in a raw file unless told not to, and trims', async () => {
    const image = join(dir, 'holes.raw');
    const sock = join(dir, 'holes.sock');
    writeFileSync(image, Buffer.alloc(16 * MiB, 0x77));
    const server = await startQemuNbd(['-f', 'raw', '--discard=unmap', image], { socket: sock });
    try {
      const client = await NbdClient.connect({ endpoint: { kind: 'unix', path: sock }, exportName: '' });
      expect(allocated(image)).toBeGreaterThanOrEqual(16 * MiB);
      await client.writeZeroes(0, 4 * MiB);
      await client.flush();
      const afterPunch = allocated(image);
      expect(afterPunch).toBeLessThanOrEqual(12 * MiB + 64 * KiB);
      await client.writeZeroes(8 * MiB, 4 * MiB, { punchHole: false });
      await client.flush();
      // NO_HOLE: zeroed, still allocated.
      expect(allocated(image)).toBeGreaterThanOrEqual(afterPunch - 64 * KiB);
      expect(client.canTrim).toBe(true);
      expect(await client.trim(12 * MiB, 2 * MiB)).toBe(true);
      await client.flush();
      expect(allocated(image)).toBeLessThanOrEqual(afterPunch - 2 * MiB + 64 * KiB);
      expect(client.stats).toMatchObject({ trimRequests: 1, bytesTrimmed: 2 * MiB });
      const back = await client.read(0, 16 * MiB);
      expect(back.subarray(0, 4 * MiB).every((b) => b === 0)).toBe(true);
      expect(back.subarray(4 * MiB, 8 * MiB).every((b) => b === 0x77)).toBe(true);
      expect(back.subarray(8 * MiB, 12 * MiB).every((b) => b === 0)).toBe(true);
      expect(back.subarray(14 * MiB).every((b) => b === 0x77)).toBe(true);
      await client.close();
    } finally {
      await server.stop();
    }
  });

  it('keeps to the minimum block size a server demands: unaligned edges are read, patched and written whole', async () => {
    const image = join(dir, 'aligned.raw');
    const sock = join(dir, 'aligned.sock');
    const model = randomBytes(MiB);
    writeFileSync(image, model);
    // blkdebug's align makes QEMU announce a 4 KiB minimum block. QEMU serves unaligned
    // requests all the same, but traces each one as a client's non-compliance.
    const trace = 'nbd_co_receive_align_compliance';
    const server = await startQemuNbd(['--trace', trace, '--image-opts', `driver=blkdebug,align=4096,image.driver=file,image.filename=${image}`], {
      socket: sock,
    });
    const traced = () => server.stderr().split(trace).length - 1;
    const endpoint = { kind: 'unix' as const, path: sock };
    /** Sends one unaligned write on a connection of its own and waits until its trace shows; stderr keeps order, so earlier ones show first. */
    const unalignedProbe = async () => {
      const probe = await NbdConnection.open({ endpoint, exportName: '' });
      expect(probe.negotiated.minBlockSize).toBe(4096);
      const before = traced();
      await probe.command('write', 100, 10, 0, model.subarray(100, 110));
      await probe.close();
      for (let i = 0; i < 200 && traced() === before; i++) await new Promise((r) => setTimeout(r, 10));
    };
    try {
      await unalignedProbe();
      expect(traced()).toBe(1);

      const client = await NbdClient.connect({ endpoint, exportName: '' });
      expect(client.minBlockSize).toBe(4096);
      // Neighbours that share a block, written at once, must both land.
      const writes = [
        [100, 100],
        [200, 100],
        [4000, 5000],
        [9000, 1],
        [12287, 2],
        [65536, 8192],
        [MiB - 3, 3],
      ].map(([offset, length]) => ({ offset: offset!, data: randomBytes(length!) }));
      await Promise.all(writes.map((w) => client.write(w.offset, w.data)));
      for (const w of writes) w.data.copy(model, w.offset);
      await client.writeZeroes(20000, 10000);
      model.fill(0, 20000, 30000);
      // Less than a whole block: nothing to trim.
      expect(await client.trim(100, 200)).toBe(false);
      expect(client.stats.trimRequests).toBe(0);
      await client.flush();
      expect((await client.read(0, MiB)).equals(model)).toBe(true);
      await client.close();
      await unalignedProbe();
      // Only the two probes: nothing the client sent was unaligned.
      expect(traced()).toBe(2);
    } finally {
      await server.stop();
    }
    expect(readFileSync(image).equals(model)).toBe(true);
  });

  it('refuses writes, zeroes and trims on a read-only export, naming it, and sends nothing', async () => {
    const image = join(dir, 'ro.qcow2');
    const sock = join(dir, 'ro.sock');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', image, '4M']);
    const server = await startQemuNbd(['-r', '-f', 'qcow2', '-x', 'ro-disk', image], { socket: sock });
    try {
      const client = await NbdClient.connect({ endpoint: { kind: 'unix', path: sock }, exportName: 'ro-disk' });
      expect(client.readOnly).toBe(true);
      for (const attempt of [client.write(0, Buffer.alloc(512, 1)), client.writeZeroes(0, 4096), client.trim(0, 4096)]) {
        const error = await errorOf(attempt);
        expect(error).toBeInstanceOf(NbdError);
        expect(error).toMatchObject({ code: 'NBD_READ_ONLY' });
        expect(error!.message).toContain('"ro-disk"');
      }
      expect(client.stats).toMatchObject({ writeRequests: 0, zeroRequests: 0, trimRequests: 0, flushRequests: 0 });
      expect(await client.flush()).toBe(false);
      expect(() => new NbdDiskWriter(client)).toThrow(expect.objectContaining({ code: 'NBD_READ_ONLY' }));
      // The connection is as it was: nothing went out that the server would have answered with an error.
      expect((await client.read(0, 4096)).every((b) => b === 0)).toBe(true);
      await client.close();
    } finally {
      await server.stop();
    }
  });

  it('rejects bad ranges before sending anything', async () => {
    const image = join(dir, 'range.raw');
    const sock = join(dir, 'range.sock');
    sh('qemu-img', ['create', '-q', '-f', 'raw', image, '1M']);
    const server = await startQemuNbd(['-f', 'raw', image], { socket: sock });
    try {
      const client = await NbdClient.connect({ endpoint: { kind: 'unix', path: sock }, exportName: '' });
      await expect(client.write(MiB - 1, Buffer.alloc(2))).rejects.toMatchObject({ code: 'NBD_RANGE' });
      await expect(client.writeZeroes(-1, 10)).rejects.toMatchObject({ code: 'NBD_RANGE' });
      await expect(client.trim(0.5, 10)).rejects.toMatchObject({ code: 'NBD_RANGE' });
      expect(client.stats).toMatchObject({ writeRequests: 0, zeroRequests: 0, trimRequests: 0 });
      await client.close();
      await expect(client.write(0, Buffer.alloc(1))).rejects.toMatchObject({ code: 'NBD_CLOSED' });
    } finally {
      await server.stop();
    }
  });
});

describe.skipIf(!haveQemu)('NbdDiskWriter', () => {
  let server: QemuNbd;
  const image = join(dir, 'writer.qcow2');
  const sock = join(dir, 'writer.sock');
  beforeAll(async () => {
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', image, '32M']);
    server = await startQemuNbd(['-f', 'qcow2', image], { socket: sock });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('pipelines writes under its in-flight bound, releases every buffer, and flushes once at the end', async () => {
    const client = await NbdClient.connect({ endpoint: { kind: 'unix', path: sock }, exportName: '', connections: 2 });
    const writer = new NbdDiskWriter(client, { maxInFlightBytes: MiB });
    const model = Buffer.alloc(32 * MiB);
    const released = new Set<Buffer>();
    let most = 0;
    for (let i = 0; i < 64; i++) {
      const data = randomBytes(256 * KiB);
      data.copy(model, i * 384 * KiB);
      await writer.writeBlock(i * 384 * KiB, data, (b) => released.add(b));
      // Sent and not yet answered: the call returned before the server did.
      expect(writer.bytesInFlight).toBeGreaterThan(0);
      most = Math.max(most, writer.bytesInFlight);
    }
    await writer.zero(30 * MiB, 2 * MiB);
    expect(most).toBeLessThanOrEqual(MiB);
    expect(client.stats.flushRequests).toBe(0);
    expect(await writer.finish()).toEqual({ bytesWritten: 64 * 256 * KiB, bytesZeroed: 2 * MiB, flushed: true });
    expect(released.size).toBe(64);
    expect(client.stats.flushRequests).toBe(1);
    expect((await client.read(0, 32 * MiB)).equals(model)).toBe(true);
    await expect(writer.writeBlock(0, Buffer.alloc(1))).rejects.toMatchObject({ code: 'NBD_CLOSED' });
    await client.close();
  });

  it('after abort, sends nothing more and never flushes', async () => {
    const client = await NbdClient.connect({ endpoint: { kind: 'unix', path: sock }, exportName: '' });
    const writer = new NbdDiskWriter(client);
    await writer.writeBlock(0, Buffer.alloc(64 * KiB, 9));
    await writer.abort(new Error('stopped by the test'));
    const sent = client.stats.writeRequests;
    await expect(writer.writeBlock(MiB, Buffer.alloc(64 * KiB, 9))).rejects.toThrow('stopped by the test');
    await expect(writer.zero(0, 4096)).rejects.toThrow('stopped by the test');
    await expect(writer.finish()).rejects.toThrow('stopped by the test');
    expect(client.stats).toMatchObject({ writeRequests: sent, zeroRequests: 0, flushRequests: 0 });
    await client.close();
  });
});

describe.skipIf(!haveQemu || !isRoot)('a target that runs out of space', () => {
  const mnt = join(dir, 'tiny');
  let mounted = false;
  beforeAll(() => {
    mkdirSync(mnt);
    sh('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'strongbox-test', mnt]);
    mounted = true;
  });
  afterAll(() => {
    if (mounted) sh('umount', [mnt]);
  });

  it('surfaces the server ENOSPC with errno, export, offset and length', async () => {
    const image = join(mnt, 'full.raw');
    const sock = join(dir, 'full.sock');
    sh('truncate', ['-s', '16M', image]);
    const server = await startQemuNbd(['-f', 'raw', '-x', 'full-disk', image], { socket: sock });
    try {
      const client = await NbdClient.connect({ endpoint: { kind: 'unix', path: sock }, exportName: 'full-disk' });
      const error = await errorOf(client.write(4 * MiB, randomBytes(4 * MiB)));
      expect(error).toBeInstanceOf(NbdError);
      expect(error).toMatchObject({ code: 'NBD_SERVER_ERROR', errno: 'ENOSPC' });
      expect(error!.message).toMatch(/export "full-disk".*failed write at 4194304\+4194304: ENOSPC/);

      // Through the disk writer: a later call, or finish(), throws the first failure.
      const writer = new NbdDiskWriter(client);
      const writing = (async () => {
        for (let i = 8; i < 16; i++) await writer.writeBlock(i * MiB, randomBytes(MiB));
        await writer.finish();
      })();
      expect(await errorOf(writing)).toMatchObject({ code: 'NBD_SERVER_ERROR', errno: 'ENOSPC' });
      expect(client.stats.flushRequests).toBe(0);
      await client.close();
    } finally {
      await server.stop();
    }
  });
});

/**
 * A minimal NBD server over a buffer that announces WRITE and FLUSH only. QEMU, nbd-server
 * and nbdkit all announce WRITE_ZEROES, so the client's zero-filled fallback has no real
 * server to run against; this one records every command it is sent.
 */
async function plainServer(path: string, size: number): Promise<{ disk: Buffer; commands: { type: number; flags: number; length: number }[]; server: Server }> {
  const disk = Buffer.alloc(size, 0x5c);
  const commands: { type: number; flags: number; length: number }[] = [];
  const optionReply = (option: number, type: number, data = Buffer.alloc(0)) => {
    const head = Buffer.alloc(20);
    head.writeBigUInt64BE(OPTION_REPLY_MAGIC, 0);
    head.writeUInt32BE(option, 8);
    head.writeUInt32BE(type, 12);
    head.writeUInt32BE(data.length, 16);
    return Buffer.concat([head, data]);
  };
  const server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    let phase: 'flags' | 'options' | 'transmission' = 'flags';
    const greeting = Buffer.alloc(18);
    greeting.writeBigUInt64BE(NBDMAGIC, 0);
    greeting.writeBigUInt64BE(IHAVEOPT, 8);
    greeting.writeUInt16BE(1, 16);
    socket.write(greeting);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (phase === 'flags') {
          if (buf.length < 4) return;
          buf = buf.subarray(4);
          phase = 'options';
        } else if (phase === 'options') {
          if (buf.length < 16 || buf.length < 16 + buf.readUInt32BE(12)) return;
          const option = buf.readUInt32BE(8);
          buf = buf.subarray(16 + buf.readUInt32BE(12));
          if (option !== OPT.GO) {
            socket.write(optionReply(option, REP_ERR.UNSUP));
            continue;
          }
          const info = Buffer.alloc(12);
          info.writeBigUInt64BE(BigInt(size), 2);
          info.writeUInt16BE(TRANSMISSION_FLAGS.HAS_FLAGS | TRANSMISSION_FLAGS.SEND_FLUSH, 10);
          socket.write(Buffer.concat([optionReply(option, REP.INFO, info), optionReply(option, REP.ACK)]));
          phase = 'transmission';
        } else {
          if (buf.length < 28) return;
          if (buf.readUInt32BE(0) !== REQUEST_MAGIC) return void socket.destroy();
          const flags = buf.readUInt16BE(4);
          const type = buf.readUInt16BE(6);
          const offset = Number(buf.readBigUInt64BE(16));
          const length = buf.readUInt32BE(24);
          if (type === CMD.WRITE && buf.length < 28 + length) return;
          const reply = Buffer.alloc(16);
          reply.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
          buf.copy(reply, 8, 8, 16);
          commands.push({ type, flags, length });
          if (type === CMD.DISC) return void socket.end();
          if (type === CMD.WRITE) buf.copy(disk, offset, 28, 28 + length);
          else if (type === CMD.READ) {
            socket.write(Buffer.concat([reply, disk.subarray(offset, offset + length)]));
            buf = buf.subarray(28);
            continue;
          } else if (type !== CMD.FLUSH) reply.writeUInt32BE(22, 4);
          socket.write(reply);
          buf = buf.subarray(type === CMD.WRITE ? 28 + length : 28);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { disk, commands, server };
}

describe('a server without WRITE_ZEROES or TRIM', () => {
  it('gets zero-filled writes for writeZeroes, no trim, and a flush', async () => {
    const path = join(dir, 'plain.sock');
    const { disk, commands, server } = await plainServer(path, 8 * MiB);
    try {
      const client = await NbdClient.connect({ endpoint: { kind: 'unix', path }, exportName: '' });
      expect(client).toMatchObject({ canWriteZeroes: false, canTrim: false, canFlush: true });
      await client.writeZeroes(1000, 5 * MiB + 3);
      expect(await client.trim(0, MiB)).toBe(false);
      expect(await client.flush()).toBe(true);
      expect(disk.subarray(1000, 1000 + 5 * MiB + 3).every((b) => b === 0)).toBe(true);
      expect(disk.subarray(0, 1000).every((b) => b === 0x5c)).toBe(true);
      expect(disk.subarray(1000 + 5 * MiB + 3).every((b) => b === 0x5c)).toBe(true);
      const writes = commands.filter((c) => c.type === CMD.WRITE);
      // 1 MiB from one shared buffer at a time: six writes, the last one short.
      expect(writes.map((c) => c.length)).toEqual([MiB, MiB, MiB, MiB, MiB, 3]);
      expect(writes.every((c) => (c.flags & CMD_FLAG.NO_HOLE) === 0)).toBe(true);
      expect(commands.map((c) => c.type).filter((t) => t !== CMD.WRITE)).toEqual([CMD.FLUSH]);
      expect(client.stats).toMatchObject({ bytesZeroed: 5 * MiB + 3, zeroRequests: 0, writeRequests: 6, trimRequests: 0 });
      await client.close();
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
