import { describe, expect, it } from 'vitest';
import { NbdError } from './errors.js';
import { REPLY_FLAG_DONE, REPLY_TYPE, SIMPLE_REPLY_MAGIC, STRUCTURED_REPLY_MAGIC } from './protocol.js';
import { ReplyParser, type InFlight } from './reply-parser.js';

function chunk(handle: number, type: number, payload: Buffer, done: boolean): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt32BE(STRUCTURED_REPLY_MAGIC, 0);
  head.writeUInt16BE(done ? REPLY_FLAG_DONE : 0, 4);
  head.writeUInt16BE(type, 6);
  head.writeUInt32BE(handle, 12);
  head.writeUInt32BE(payload.length, 16);
  return Buffer.concat([head, payload]);
}
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const u32 = (...ns: number[]) => {
  const b = Buffer.alloc(4 * ns.length);
  ns.forEach((n, i) => b.writeUInt32BE(n, 4 * i));
  return b;
};

function setup() {
  const requests = new Map<number, InFlight>();
  const outcome = new Map<number, string>();
  const add = (r: Omit<InFlight, 'resolve' | 'reject' | 'covered'>) =>
    requests.set(r.handle, {
      ...r,
      covered: 0,
      resolve: () => outcome.set(r.handle, 'ok'),
      reject: (e) => outcome.set(r.handle, `error ${(e as NbdError).code}`),
    });
  const parser = new ReplyParser(
    (h) => requests.get(h),
    (r) => (requests.delete(r.handle), r.error ? r.reject(r.error) : r.resolve()),
    () => undefined,
  );
  return { add, parser, outcome, requests };
}

describe('ReplyParser', () => {
  // Data chunks out of order, a hole, block status and a simple error reply, interleaved.
  const stream = Buffer.concat([
    chunk(1, REPLY_TYPE.OFFSET_DATA, Buffer.concat([u64(1004), Buffer.from('WXYZ')]), false),
    chunk(2, REPLY_TYPE.BLOCK_STATUS, u32(7, 4096, 0, 8192, 3), true),
    chunk(1, REPLY_TYPE.OFFSET_HOLE, Buffer.concat([u64(1002), u32(2)]), false),
    chunk(1, REPLY_TYPE.OFFSET_DATA, Buffer.concat([u64(1000), Buffer.from('ab')]), true),
    (() => {
      const b = Buffer.alloc(16);
      b.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
      b.writeUInt32BE(5, 4);
      b.writeUInt32BE(3, 12);
      return b;
    })(),
  ]);

  it.each([1, 2, 3, 7, 19, 20, 21, stream.length])('assembles replies fed in pieces of %i bytes', (piece) => {
    const { add, parser, outcome } = setup();
    const read = Buffer.alloc(8, 0xff);
    add({ handle: 1, kind: 'read', offset: 1000, length: 8, buffer: read });
    const status = new Map<number, Buffer>();
    add({ handle: 2, kind: 'block-status', offset: 0, length: 12288, status });
    add({ handle: 3, kind: 'read', offset: 0, length: 4, buffer: Buffer.alloc(4) });
    for (let i = 0; i < stream.length; i += piece) parser.feed(stream.subarray(i, i + piece));
    expect(read.toString('latin1')).toBe('ab\0\0WXYZ');
    expect([...status.keys()]).toEqual([7]);
    expect(status.get(7)).toEqual(u32(4096, 0, 8192, 3));
    expect(Object.fromEntries(outcome)).toEqual({ 1: 'ok', 2: 'ok', 3: 'error NBD_SERVER_ERROR' });
  });

  it('refuses data outside the request and an unknown handle', () => {
    const { add, parser } = setup();
    add({ handle: 1, kind: 'read', offset: 1000, length: 4, buffer: Buffer.alloc(4) });
    expect(() => parser.feed(chunk(1, REPLY_TYPE.OFFSET_DATA, Buffer.concat([u64(1002), Buffer.from('abcd')]), true))).toThrow(/outside the request/);
    const other = setup();
    expect(() => other.parser.feed(chunk(9, REPLY_TYPE.NONE, Buffer.alloc(0), true))).toThrow(/unknown handle 9/);
  });

  it('refuses a stream that is not NBD replies', () => {
    const { parser } = setup();
    expect(() => parser.feed(Buffer.from('HTTP/1.1 200 OK\r\n'))).toThrow(/bad reply magic/);
  });
});
