import { expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import { ByteQueue } from '../src/byte-queue.js';
import type { ExportExtent, ExportSource } from '../src/index.js';
import {
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  IHAVEOPT,
  INFO,
  NBDMAGIC,
  OPT,
  OPTION_REPLY_MAGIC,
  REP,
  REPLY_FLAG_DONE,
  REPLY_TYPE,
  REQUEST_MAGIC,
  SIMPLE_REPLY_MAGIC,
  STRUCTURED_REPLY_MAGIC,
} from '../src/protocol.js';

// The NBD server tests’ own pieces: an in-memory export, a raw-bytes client and the request builders.
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An export over a buffer: extents by 64 KiB granule (all-zero granules are zero), optional delays and failures, concurrency measured. */
export class MemorySource implements ExportSource {
  readonly size: number;
  active = 0;
  maxActive = 0;
  reads = 0;
  delay: (offset: number) => number = () => 0;
  failAt: number | null = null;

  constructor(
    readonly data: Buffer,
    readonly blockSize?: number,
  ) {
    this.size = data.length;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.reads++;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      const ms = this.delay(offset);
      if (ms > 0) await sleep(ms);
      if (this.failAt !== null && offset <= this.failAt && this.failAt < offset + length) throw new Error(`injected failure at ${this.failAt}`);
      return Buffer.from(this.data.subarray(offset, offset + length));
    } finally {
      this.active--;
    }
  }

  async extents(offset: number, length: number): Promise<ExportExtent[]> {
    const G = 64 * KiB;
    const out: ExportExtent[] = [];
    for (let at = offset; at < offset + length;) {
      const granuleEnd = Math.min((Math.floor(at / G) + 1) * G, this.size);
      const zero = this.data.subarray(Math.floor(at / G) * G, granuleEnd).every((b) => b === 0);
      const end = Math.min(granuleEnd, offset + length);
      out.push({ length: end - at, zero });
      at = end;
    }
    return out;
  }
}

// 8 MiB: random data, zeros, a little text, zeros, a 64 KiB pattern, zeros.
export function layoutImage(): Buffer {
  const b = Buffer.alloc(8 * MiB);
  randomBytes(MiB).copy(b, 0);
  b.write('strongbox '.repeat(10 * KiB), 3 * MiB);
  b.fill(0x5a, 6 * MiB, 6 * MiB + 64 * KiB);
  return b;
}
/** base:allocation of layoutImage as a map: type 3 = HOLE|ZERO, 0 = data. */
export const layoutMap = [
  { offset: 0, length: MiB, type: 0 },
  { offset: MiB, length: 2 * MiB, type: 3 },
  { offset: 3 * MiB, length: 128 * KiB, type: 0 },
  { offset: 3 * MiB + 128 * KiB, length: 3 * MiB - 128 * KiB, type: 3 },
  { offset: 6 * MiB, length: 64 * KiB, type: 0 },
  { offset: 6 * MiB + 64 * KiB, length: 2 * MiB - 64 * KiB, type: 3 },
];

export type OptionReply = { option: number; type: number; data: Buffer };
export type Chunk = { magic: number; flags: number; type: number; cookie: bigint; payload: Buffer; error: number };

/** A deliberately plain NBD client speaking raw bytes, so that every field the server sends is checked here, not by a library. */
export class RawClient {
  private readonly queue = new ByteQueue();
  readonly closed: Promise<void>;
  private constructor(readonly socket: Socket) {
    socket.on('data', (b: Buffer) => this.queue.push(b));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.once('close', () => this.queue.fail(new Error('closed by the server')));
    socket.on('error', () => {});
  }

  static async connect(path: string): Promise<RawClient> {
    const socket = createConnection(path);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Connected, greeted and in transmission on export `name`. */
  static async open(
    path: string,
    name: string,
    opts?: { structured?: boolean; allocation?: boolean },
  ): Promise<RawClient & { size: number; flags: number; context: number | null }> {
    const c = await RawClient.connect(path);
    await c.greet();
    return Object.assign(c, await c.go(name, opts));
  }

  /** Reads the greeting and answers with `clientFlags`; returns the server's handshake flags. */
  async greet(clientFlags = FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES): Promise<number> {
    const g = await this.queue.readExact(18);
    expect(g.readBigUInt64BE(0)).toBe(NBDMAGIC);
    expect(g.readBigUInt64BE(8)).toBe(IHAVEOPT);
    const flags = Buffer.alloc(4);
    flags.writeUInt32BE(clientFlags);
    this.socket.write(flags);
    return g.readUInt16BE(16);
  }

  sendOption(option: number, data: Buffer = Buffer.alloc(0)): void {
    const head = Buffer.alloc(16);
    head.writeBigUInt64BE(IHAVEOPT, 0);
    head.writeUInt32BE(option, 8);
    head.writeUInt32BE(data.length, 12);
    this.socket.write(Buffer.concat([head, data]));
  }

  /** Sends an option and collects its replies up to the final one (ACK or an error). */
  async option(option: number, data?: Buffer): Promise<OptionReply[]> {
    this.sendOption(option, data);
    const replies: OptionReply[] = [];
    for (;;) {
      const head = await this.queue.readExact(20);
      expect(head.readBigUInt64BE(0)).toBe(OPTION_REPLY_MAGIC);
      const length = head.readUInt32BE(16);
      const r = { option: head.readUInt32BE(8), type: head.readUInt32BE(12), data: length ? await this.queue.readExact(length) : Buffer.alloc(0) };
      expect(r.option).toBe(option);
      replies.push(r);
      if (r.type !== REP.SERVER && r.type !== REP.INFO && r.type !== REP.META_CONTEXT) return replies;
    }
  }

  /** Structured replies, base:allocation (when asked), then GO; returns the export's size, flags and context id. */
  async go(name: string, opts: { structured?: boolean; allocation?: boolean } = {}): Promise<{ size: number; flags: number; context: number | null }> {
    if (opts.structured ?? true) expect((await this.option(OPT.STRUCTURED_REPLY)).map((r) => r.type)).toEqual([REP.ACK]);
    let context: number | null = null;
    if (opts.allocation ?? true) {
      const replies = await this.option(OPT.SET_META_CONTEXT, metaQuery(name, ['base:allocation']));
      expect(replies.map((r) => r.type)).toEqual([REP.META_CONTEXT, REP.ACK]);
      context = replies[0]!.data.readUInt32BE(0);
    }
    const replies = await this.option(OPT.GO, goData(name, [INFO.BLOCK_SIZE]));
    expect(replies.at(-1)!.type).toBe(REP.ACK);
    const exp = replies.find((r) => r.data.readUInt16BE(0) === INFO.EXPORT)!.data;
    return { size: Number(exp.readBigUInt64BE(2)), flags: exp.readUInt16BE(10), context };
  }

  request(type: number, cookie: bigint, offset: number, length: number, flags = 0, payload?: Buffer): void {
    const b = Buffer.alloc(28);
    b.writeUInt32BE(REQUEST_MAGIC, 0);
    b.writeUInt16BE(flags, 4);
    b.writeUInt16BE(type, 6);
    b.writeBigUInt64BE(cookie, 8);
    b.writeBigUInt64BE(BigInt(offset), 16);
    b.writeUInt32BE(length, 24);
    this.socket.write(payload ? Buffer.concat([b, payload]) : b);
  }

  /** One reply message; a simple reply's data length must be known beforehand (`simpleData`), as in the protocol. */
  async message(simpleData = 0): Promise<Chunk> {
    const magic = (await this.queue.readExact(4)).readUInt32BE(0);
    if (magic === SIMPLE_REPLY_MAGIC) {
      const rest = await this.queue.readExact(12);
      const error = rest.readUInt32BE(0);
      const payload = error === 0 && simpleData > 0 ? await this.queue.readExact(simpleData) : Buffer.alloc(0);
      return { magic, flags: REPLY_FLAG_DONE, type: -1, cookie: rest.readBigUInt64BE(4), payload, error };
    }
    expect(magic).toBe(STRUCTURED_REPLY_MAGIC);
    const rest = await this.queue.readExact(16);
    const length = rest.readUInt32BE(12);
    const payload = length ? await this.queue.readExact(length) : Buffer.alloc(0);
    const type = rest.readUInt16BE(2);
    return { magic, flags: rest.readUInt16BE(0), type, cookie: rest.readBigUInt64BE(4), payload, error: type & 0x8000 ? payload.readUInt32BE(0) : 0 };
  }

  /** Every chunk of the next complete structured reply (chunks of other cookies are not expected here). */
  async reply(): Promise<Chunk[]> {
    const chunks: Chunk[] = [];
    for (;;) {
      const c = await this.message();
      chunks.push(c);
      if (c.flags & REPLY_FLAG_DONE) return chunks;
    }
  }

  /** Bytes outside any framing (the NBD_OPT_EXPORT_NAME answer). */
  raw(n: number): Promise<Buffer> {
    return this.queue.readExact(n);
  }

  end(): void {
    this.socket.destroy();
  }
}

export const nameField = (s: string) => {
  const b = Buffer.from(s);
  const n = Buffer.alloc(4);
  n.writeUInt32BE(b.length);
  return Buffer.concat([n, b]);
};
export function metaQuery(name: string, queries: string[]): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(queries.length);
  return Buffer.concat([nameField(name), count, ...queries.map(nameField)]);
}
export function goData(name: string, infos: number[]): Buffer {
  const b = Buffer.alloc(2 + 2 * infos.length);
  b.writeUInt16BE(infos.length, 0);
  infos.forEach((t, i) => b.writeUInt16BE(t, 2 + 2 * i));
  return Buffer.concat([nameField(name), b]);
}
/** A read's structured reply put back together: holes as zeros; checks that chunks stay inside and do not overlap. */
export function assemble(chunks: Chunk[], offset: number, length: number): Buffer {
  const out = Buffer.alloc(length, 0xee);
  const seen = new Uint8Array(length);
  for (const c of chunks) {
    if (c.type === REPLY_TYPE.NONE) continue;
    const at = Number(c.payload.readBigUInt64BE(0)) - offset;
    const n = c.type === REPLY_TYPE.OFFSET_DATA ? c.payload.length - 8 : c.payload.readUInt32BE(8);
    expect(at >= 0 && at + n <= length).toBe(true);
    expect(seen.subarray(at, at + n).every((s) => s === 0)).toBe(true);
    seen.fill(1, at, at + n);
    if (c.type === REPLY_TYPE.OFFSET_DATA) c.payload.copy(out, at, 8);
    else if (c.type === REPLY_TYPE.OFFSET_HOLE) out.fill(0, at, at + n);
    else throw new Error(`unexpected chunk type ${c.type}`);
  }
  expect(seen.every((s) => s === 1)).toBe(true);
  return out;
}
