import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { assemble, Chunk, goData, KiB, layoutImage, layoutMap, MemorySource, metaQuery, MiB, RawClient } from './server-fixture.js';
import { NbdServer, type ExportSource, type NbdError } from '../src/index.js';
import {
  CMD,
  CMD_FLAG,
  ERRNO,
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  INFO,
  OPT,
  REP,
  REP_ERR,
  REPLY_FLAG_DONE,
  REPLY_TYPE,
  SIMPLE_REPLY_MAGIC,
  TRANSMISSION_FLAGS,
} from '../src/protocol.js';

// The QEMU tools run as child processes while this process serves them: they must never be run synchronously.
const run = promisify(execFile);
const haveTools = (() => {
  try {
    execFileSync('qemu-img', ['--version']);
    execFileSync('nbdinfo', ['--version']);
    return true;
  } catch {
    return false;
  }
})();
if (!haveTools) console.warn('SKIPPING the QEMU parts of the NBD server tests: qemu-img / nbdinfo are not installed (run `pnpm lab:up` as root)');

const dir = mkdtempSync(join(tmpdir(), 'strongbox-nbd-server-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let sockets = 0;
const socketPath = () => join(dir, `s${++sockets}.sock`);

describe('NbdServer', () => {
  const image = layoutImage();
  const source = new MemorySource(image, 4 * MiB);
  const odd = new MemorySource(randomBytes(MiB + 777));
  const errors: NbdError[] = [];
  const path = socketPath();
  let server: NbdServer;

  beforeAll(async () => {
    server = await NbdServer.listen(
      { unix: path },
      new Map<string, ExportSource>([
        ['vda', source],
        ['odd', odd],
      ]),
      { onError: (e) => errors.push(e), maxRequestsPerConnection: 4 },
    );
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('option haggling', () => {
    it('answers LIST, INFO and meta context queries, refuses what it does not know, and haggling goes on after each refusal', async () => {
      const c = await RawClient.connect(path);
      expect(await c.greet()).toBe(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
      expect((await c.option(99)).map((r) => r.type)).toEqual([REP_ERR.UNSUP]);
      expect((await c.option(OPT.STARTTLS)).map((r) => r.type)).toEqual([REP_ERR.UNSUP]);
      expect((await c.option(OPT.LIST, Buffer.from('x'))).map((r) => r.type)).toEqual([REP_ERR.INVALID]);
      const list = await c.option(OPT.LIST);
      expect(list.map((r) => r.type)).toEqual([REP.SERVER, REP.SERVER, REP.ACK]);
      expect(list.slice(0, 2).map((r) => r.data.toString('utf8', 4, 4 + r.data.readUInt32BE(0)))).toEqual(['vda', 'odd']);

      const missing = await c.option(OPT.INFO, goData('nope', []));
      expect(missing.map((r) => r.type)).toEqual([REP_ERR.UNKNOWN]);
      expect(missing[0]!.data.toString()).toContain('nope');
      // A name length that runs past the option's data.
      const bad = goData('vda', []);
      bad.writeUInt32BE(200, 0);
      expect((await c.option(OPT.INFO, bad)).map((r) => r.type)).toEqual([REP_ERR.INVALID]);

      const info = await c.option(OPT.INFO, goData('vda', [INFO.BLOCK_SIZE]));
      expect(info.map((r) => r.type)).toEqual([REP.INFO, REP.INFO, REP.ACK]);
      const exp = info.find((r) => r.data.readUInt16BE(0) === INFO.EXPORT)!.data;
      expect(exp.length).toBe(12);
      expect(Number(exp.readBigUInt64BE(2))).toBe(image.length);
      const F = TRANSMISSION_FLAGS;
      // No SEND_DF yet: structured replies are not negotiated.
      expect(exp.readUInt16BE(10)).toBe(F.HAS_FLAGS | F.READ_ONLY | F.SEND_FLUSH | F.CAN_MULTI_CONN);
      const sizes = info.find((r) => r.data.readUInt16BE(0) === INFO.BLOCK_SIZE)!.data;
      expect([sizes.readUInt32BE(2), sizes.readUInt32BE(6), sizes.readUInt32BE(10)]).toEqual([1, 4 * MiB, 32 * MiB]);
      // A source without a block size gets 64 KiB as its preferred size.
      const oddInfo = await c.option(OPT.INFO, goData('odd', []));
      expect(oddInfo.find((r) => r.data.readUInt16BE(0) === INFO.BLOCK_SIZE)!.data.readUInt32BE(6)).toBe(64 * KiB);

      expect((await c.option(OPT.SET_META_CONTEXT, metaQuery('vda', ['base:allocation']))).map((r) => r.type)).toEqual([REP_ERR.INVALID]);
      expect((await c.option(OPT.STRUCTURED_REPLY)).map((r) => r.type)).toEqual([REP.ACK]);
      expect((await c.option(OPT.STRUCTURED_REPLY)).map((r) => r.type)).toEqual([REP_ERR.INVALID]);
      for (const queries of [[], ['base:'], ['base:allocation']]) {
        const l = await c.option(OPT.LIST_META_CONTEXT, metaQuery('vda', queries));
        expect(l.map((r) => r.type)).toEqual([REP.META_CONTEXT, REP.ACK]);
        expect(l[0]!.data.toString('utf8', 4)).toBe('base:allocation');
      }
      expect((await c.option(OPT.LIST_META_CONTEXT, metaQuery('vda', ['qemu:dirty-bitmap:b']))).map((r) => r.type)).toEqual([REP.ACK]);
      expect((await c.option(OPT.SET_META_CONTEXT, metaQuery('nope', ['base:allocation']))).map((r) => r.type)).toEqual([REP_ERR.UNKNOWN]);
      expect((await c.option(OPT.GO, goData('nope', []))).map((r) => r.type)).toEqual([REP_ERR.UNKNOWN]);

      // Contexts set for another export do not carry over to the one chosen: BLOCK_STATUS is then EINVAL.
      expect((await c.option(OPT.SET_META_CONTEXT, metaQuery('odd', ['base:allocation']))).map((r) => r.type)).toEqual([REP.META_CONTEXT, REP.ACK]);
      const go = await c.option(OPT.GO, goData('vda', []));
      expect(go.at(-1)!.type).toBe(REP.ACK);
      expect(go.find((r) => r.data.readUInt16BE(0) === INFO.EXPORT)!.data.readUInt16BE(10) & F.SEND_DF).toBe(F.SEND_DF);
      c.request(CMD.BLOCK_STATUS, 1n, 0, 4096);
      const [status] = await c.reply();
      expect(status).toMatchObject({ type: REPLY_TYPE.ERROR, error: ERRNO.EINVAL, cookie: 1n });
      c.end();
    });

    it('drops a client that asks for an unknown export with NBD_OPT_EXPORT_NAME or sends unknown flags; ABORT is acknowledged', async () => {
      const before = errors.length;
      const a = await RawClient.connect(path);
      await a.greet();
      a.sendOption(OPT.EXPORT_NAME, Buffer.from('nope'));
      await a.closed;
      expect(errors.slice(before).map((e) => e.code)).toEqual(['NBD_EXPORT']);

      const b = await RawClient.connect(path);
      await b.greet(FLAG_FIXED_NEWSTYLE | 0x100);
      await b.closed;
      expect(errors.slice(before).map((e) => e.code)).toEqual(['NBD_EXPORT', 'NBD_HANDSHAKE']);

      const c = await RawClient.connect(path);
      await c.greet();
      expect((await c.option(OPT.ABORT)).map((r) => r.type)).toEqual([REP.ACK]);
      await c.closed;
    });

    it('enters transmission with NBD_OPT_EXPORT_NAME, with or without the 124 zero bytes', async () => {
      for (const noZeroes of [true, false]) {
        const c = await RawClient.connect(path);
        await c.greet(FLAG_FIXED_NEWSTYLE | (noZeroes ? FLAG_NO_ZEROES : 0));
        c.sendOption(OPT.EXPORT_NAME, Buffer.from('odd'));
        const answer = await c.raw(noZeroes ? 10 : 134);
        expect(Number(answer.readBigUInt64BE(0))).toBe(odd.size);
        c.request(CMD.READ, 7n, odd.size - 100, 100);
        const m = await c.message(100);
        expect(m).toMatchObject({ magic: SIMPLE_REPLY_MAGIC, error: 0, cookie: 7n });
        expect(m.payload.equals(odd.data.subarray(odd.size - 100))).toBe(true);
        c.end();
      }
    });

    it('refuses NBD_OPT_LIST when exports come from a lookup function', async () => {
      const p = socketPath();
      const s = await NbdServer.listen({ unix: p }, (name) => (name === 'vda' ? source : undefined));
      try {
        const c = await RawClient.connect(p);
        await c.greet();
        expect((await c.option(OPT.LIST)).map((r) => r.type)).toEqual([REP_ERR.POLICY]);
        expect((await c.go('vda')).size).toBe(image.length);
        c.end();
      } finally {
        await s.close();
      }
    });
  });

  describe('transmission', () => {
    it('reads with structured replies: data chunks for data, hole chunks for zeros, DF as one data chunk', async () => {
      const c = await RawClient.open(path, 'vda');
      const offset = MiB - 1000;
      const length = 2 * MiB + 2 * 64 * KiB;
      c.request(CMD.READ, 1n, offset, length);
      const chunks = await c.reply();
      expect(chunks.every((ch) => ch.cookie === 1n && ch.error === 0)).toBe(true);
      expect(chunks.map((ch) => ch.type)).toEqual([REPLY_TYPE.OFFSET_DATA, REPLY_TYPE.OFFSET_HOLE, REPLY_TYPE.OFFSET_DATA]);
      expect(assemble(chunks, offset, length).equals(image.subarray(offset, offset + length))).toBe(true);

      c.request(CMD.READ, 2n, offset, length, CMD_FLAG.DF);
      const df = await c.reply();
      expect(df.map((ch) => [ch.type, ch.flags])).toEqual([[REPLY_TYPE.OFFSET_DATA, REPLY_FLAG_DONE]]);
      expect(assemble(df, offset, length).equals(image.subarray(offset, offset + length))).toBe(true);

      // All zeros: one hole, nothing read from the source.
      const reads = source.reads;
      c.request(CMD.READ, 3n, 2 * MiB, 4096);
      expect((await c.reply()).map((ch) => ch.type)).toEqual([REPLY_TYPE.OFFSET_HOLE]);
      expect(source.reads).toBe(reads);
      c.end();
    });

    it('reads with simple replies when structured replies were not negotiated', async () => {
      const c = await RawClient.open(path, 'vda', { structured: false, allocation: false });
      const { flags } = c;
      expect(flags & TRANSMISSION_FLAGS.SEND_DF).toBe(0);
      c.request(CMD.READ, 9n, 3 * MiB - 5, 4096);
      const m = await c.message(4096);
      expect(m).toMatchObject({ magic: SIMPLE_REPLY_MAGIC, error: 0, cookie: 9n });
      expect(m.payload.equals(image.subarray(3 * MiB - 5, 3 * MiB - 5 + 4096))).toBe(true);
      // An error carries no payload, so the stream stays in step.
      c.request(CMD.READ, 10n, image.length - 10, 11);
      expect(await c.message(11)).toMatchObject({ error: ERRNO.EINVAL, cookie: 10n, payload: Buffer.alloc(0) });
      c.request(CMD.READ, 11n, 0, 8);
      expect((await c.message(8)).payload.equals(image.subarray(0, 8))).toBe(true);
      c.end();
    });

    it('answers BLOCK_STATUS for base:allocation, one extent with REQ_ONE', async () => {
      const c = await RawClient.open(path, 'vda');
      const { context } = c;
      c.request(CMD.BLOCK_STATUS, 1n, 0, image.length);
      const [all] = await c.reply();
      expect(all).toMatchObject({ type: REPLY_TYPE.BLOCK_STATUS, flags: REPLY_FLAG_DONE });
      expect(all!.payload.readUInt32BE(0)).toBe(context);
      const got = [];
      for (let at = 4, offset = 0; at < all!.payload.length; at += 8) {
        const length = all!.payload.readUInt32BE(at);
        got.push({ offset, length, type: all!.payload.readUInt32BE(at + 4) });
        offset += length;
      }
      expect(got).toEqual(layoutMap);

      c.request(CMD.BLOCK_STATUS, 2n, MiB + 5, 100, CMD_FLAG.REQ_ONE);
      const [one] = await c.reply();
      expect(one!.payload.length).toBe(12);
      expect([one!.payload.readUInt32BE(4), one!.payload.readUInt32BE(8)]).toEqual([100, 3]);
      c.request(CMD.BLOCK_STATUS, 3n, 0, 2 * MiB, CMD_FLAG.REQ_ONE);
      const [first] = await c.reply();
      expect([first!.payload.length, first!.payload.readUInt32BE(4), first!.payload.readUInt32BE(8)]).toEqual([12, MiB, 0]);
      c.request(CMD.BLOCK_STATUS, 4n, image.length - 10, 11);
      expect((await c.reply())[0]).toMatchObject({ type: REPLY_TYPE.ERROR, error: ERRNO.EINVAL });
      c.end();
    });

    it('refuses writes with EPERM (skipping their payload), bad ranges, flags and commands with EINVAL, and serves on', async () => {
      const c = await RawClient.open(path, 'vda');
      c.request(CMD.WRITE, 1n, 0, 64 * KiB, 0, Buffer.alloc(64 * KiB, 0x77));
      c.request(CMD.TRIM, 2n, 0, 4096);
      c.request(CMD.WRITE_ZEROES, 3n, 0, 4096);
      c.request(CMD.READ, 4n, image.length - 4096, 4097);
      c.request(CMD.READ, 5n, 0, 4096, CMD_FLAG.REQ_ONE);
      c.request(42, 6n, 0, 0);
      c.request(CMD.FLUSH, 7n, 0, 0);
      c.request(CMD.CACHE, 8n, 0, 4096);
      c.request(CMD.READ, 9n, 0, 4096);
      const byCookie = new Map<bigint, Chunk[]>();
      while (byCookie.size < 9) {
        const m = await c.message();
        byCookie.set(m.cookie, [...(byCookie.get(m.cookie) ?? []), m]);
      }
      for (const k of [1n, 2n, 3n]) expect(byCookie.get(k)).toMatchObject([{ type: REPLY_TYPE.ERROR, error: ERRNO.EPERM }]);
      for (const k of [4n, 5n, 6n]) expect(byCookie.get(k)).toMatchObject([{ type: REPLY_TYPE.ERROR, error: ERRNO.EINVAL }]);
      expect(byCookie.get(4n)![0]!.payload.toString('utf8', 6)).toContain('outside the export');
      for (const k of [7n, 8n]) expect(byCookie.get(k)).toMatchObject([{ magic: SIMPLE_REPLY_MAGIC, error: 0 }]);
      expect(assemble(byCookie.get(9n)!, 0, 4096).equals(image.subarray(0, 4096))).toBe(true);
      // Nothing was written.
      expect(source.data.equals(image)).toBe(true);
      c.end();
    });

    it('fails only the request whose source read fails (EIO), reports it, and serves on', async () => {
      const before = errors.length;
      source.failAt = 100;
      try {
        const c = await RawClient.open(path, 'vda');
        c.request(CMD.READ, 1n, 0, 4096);
        expect(await c.reply()).toMatchObject([{ type: REPLY_TYPE.ERROR, error: ERRNO.EIO, flags: REPLY_FLAG_DONE }]);
        c.request(CMD.READ, 2n, 8192, 4096);
        expect(assemble(await c.reply(), 8192, 4096).equals(image.subarray(8192, 8192 + 4096))).toBe(true);
        c.end();
      } finally {
        source.failAt = null;
      }
      expect(errors.slice(before).map((e) => e.code)).toEqual(['NBD_SOURCE']);
      expect(errors.at(-1)!.message).toContain('injected failure at 100');
    });

    it('serves requests concurrently, replies as each completes, never more at once than the bound, and finishes them before DISC closes', async () => {
      const c = await RawClient.open(path, 'vda');
      // The first request is the slowest, so its reply comes last.
      source.delay = (offset) => (offset === 0 ? 150 : 5 + (offset % 7));
      source.maxActive = 0;
      try {
        const n = 40;
        for (let i = 0; i < n; i++) c.request(CMD.READ, BigInt(i), i * 4096, 4096, CMD_FLAG.DF);
        c.request(CMD.DISC, 999n, 0, 0);
        const order: bigint[] = [];
        for (let i = 0; i < n; i++) {
          const [m] = await c.reply();
          const k = Number(m!.cookie);
          expect(m!.payload.subarray(8).equals(image.subarray(k * 4096, (k + 1) * 4096))).toBe(true);
          order.push(m!.cookie);
        }
        expect(new Set(order).size).toBe(n);
        expect(order[0]).not.toBe(0n);
        expect(source.maxActive).toBeGreaterThan(1);
        expect(source.maxActive).toBeLessThanOrEqual(4);
        await c.closed;
      } finally {
        source.delay = () => 0;
      }
    });
  });

  describe.skipIf(!haveTools)('with the QEMU tools', () => {
    const url = (name: string) => `nbd+unix:///${name}?socket=${path}`;

    it('qemu-img convert copies the export byte for byte, nbdcopy too (odd size, 4 connections)', async () => {
      const out = join(dir, 'vda.raw');
      await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', url('vda'), out]);
      expect(readFileSync(out).equals(image)).toBe(true);
      const oddOut = join(dir, 'odd.raw');
      await run('nbdcopy', ['--connections=4', url('odd'), oddOut]);
      expect(readFileSync(oddOut).equals(odd.data)).toBe(true);
    });

    it('nbdinfo lists the exports and maps zeros as holes', async () => {
      const list = JSON.parse((await run('nbdinfo', ['--json', '--list', `nbd+unix://?socket=${path}`])).stdout) as {
        exports: { 'export-name': string; 'export-size': number }[];
      };
      expect(list.exports.map((e) => [e['export-name'], e['export-size']])).toEqual([
        ['vda', image.length],
        ['odd', odd.size],
      ]);
      const map = JSON.parse((await run('nbdinfo', ['--json', '--map', url('vda')])).stdout) as { offset: number; length: number; type: number }[];
      expect(map.map(({ offset, length, type }) => ({ offset, length, type }))).toEqual(layoutMap);
    });
  });

  it('counts what it served per export', async () => {
    // Clients above were dropped from their side; the server sees each close a moment later.
    await vi.waitFor(() => expect(server.stats().get('vda')!.connections).toBe(0));
    const s = server.stats().get('vda')!;
    expect(s.requests).toBeGreaterThan(40);
    expect(s.bytesServed).toBeGreaterThan(4 * MiB);
    expect(s.lastRequestAt).toBeInstanceOf(Date);
  });

  it('drops a client that sends a request without its magic, or leaves its handshake unfinished', async () => {
    const p = socketPath();
    const seen: NbdError[] = [];
    const s = await NbdServer.listen({ unix: p }, new Map([['vda', source]]), { onError: (e) => seen.push(e), handshakeTimeoutMs: 300 });
    try {
      const c = await RawClient.open(p, 'vda');
      c.socket.write(Buffer.alloc(28, 0x42));
      await c.closed;
      const idle = await RawClient.connect(p);
      await idle.greet();
      await idle.closed;
      expect(seen.map((e) => e.code)).toEqual(['NBD_PROTOCOL', 'NBD_TIMEOUT']);
    } finally {
      await s.close();
    }
  });

  it('close() answers the requests in flight, then ends every connection and removes the socket file', async () => {
    const p = socketPath();
    const slow = new MemorySource(image);
    slow.delay = () => 200;
    const s = await NbdServer.listen({ unix: p }, new Map([['vda', slow]]));
    const c = await RawClient.open(p, 'vda');
    const h = await RawClient.connect(p);
    await h.greet();
    expect(s.stats().get('vda')!.connections).toBe(1);
    c.request(CMD.READ, 1n, 4096, 4096);
    await vi.waitFor(() => expect(slow.active).toBe(1));
    const closing = s.close();
    expect(assemble(await c.reply(), 4096, 4096).equals(image.subarray(4096, 8192))).toBe(true);
    await closing;
    await c.closed;
    await h.closed;
    expect(s.stats().get('vda')!.connections).toBe(0);
    expect(existsSync(p)).toBe(false);
    await expect(RawClient.connect(p)).rejects.toThrow();
  });

  it('replaces a stale socket file but refuses a path a live server holds', async () => {
    const p = socketPath();
    const first = await NbdServer.listen({ unix: p }, new Map([['vda', source]]));
    await expect(NbdServer.listen({ unix: p }, new Map())).rejects.toMatchObject({ code: 'NBD_LISTEN' });
    await first.close();
    // A socket file nobody listens on, as a killed process leaves it.
    execFileSync('python3', ['-c', `import socket; s=socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(p)})`]);
    expect(existsSync(p)).toBe(true);
    const second = await NbdServer.listen({ unix: p }, new Map([['vda', source]]));
    const c = await RawClient.open(p, 'vda');
    expect(c.size).toBe(image.length);
    c.end();
    await second.close();
  });
});
