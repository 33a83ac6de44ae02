import { REPLY_FLAG_DONE, REPLY_TYPE, SIMPLE_REPLY_MAGIC, STATE_HOLE, STATE_ZERO, STRUCTURED_REPLY_MAGIC } from './protocol.js';

/**
 * Encoders of the server's transmission replies (proto.md "Simple reply message",
 * "Structured reply chunk message", "Structured reply types"). Each returns the
 * buffers to write in order; data payloads are passed through, never copied.
 */

/** proto.md "Conventions": strings (error messages among them) MUST be no longer than 4096 bytes. */
const MAX_MESSAGE_BYTES = 4096;

/** Servers SHOULD NOT send more than 2^20 extents in one block status chunk (proto.md "NBD_REPLY_TYPE_BLOCK_STATUS"). */
export const MAX_STATUS_DESCRIPTORS = 1 << 20;

export function simpleReply(cookie: Buffer, errno: number): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
  b.writeUInt32BE(errno, 4);
  cookie.copy(b, 8);
  return b;
}

function chunkHeader(cookie: Buffer, flags: number, type: number, length: number, extra = 0): Buffer {
  const b = Buffer.allocUnsafe(20 + extra);
  b.writeUInt32BE(STRUCTURED_REPLY_MAGIC, 0);
  b.writeUInt16BE(flags, 4);
  b.writeUInt16BE(type, 6);
  cookie.copy(b, 8);
  b.writeUInt32BE(length, 16);
  return b;
}

/** NBD_REPLY_TYPE_NONE with DONE: the successful end of a structured reply. */
export const noneChunk = (cookie: Buffer): Buffer => chunkHeader(cookie, REPLY_FLAG_DONE, REPLY_TYPE.NONE, 0);

export function dataChunk(cookie: Buffer, offset: number, data: Buffer, done: boolean): Buffer[] {
  const head = chunkHeader(cookie, done ? REPLY_FLAG_DONE : 0, REPLY_TYPE.OFFSET_DATA, 8 + data.length, 8);
  head.writeBigUInt64BE(BigInt(offset), 20);
  return [head, data];
}

export function holeChunk(cookie: Buffer, offset: number, length: number, done: boolean): Buffer {
  const b = chunkHeader(cookie, done ? REPLY_FLAG_DONE : 0, REPLY_TYPE.OFFSET_HOLE, 12, 12);
  b.writeBigUInt64BE(BigInt(offset), 20);
  b.writeUInt32BE(length, 28);
  return b;
}

/** One NBD_REPLY_TYPE_BLOCK_STATUS chunk (the only one: we offer one context) for `base:allocation`. */
export function allocationChunk(cookie: Buffer, contextId: number, extents: readonly Extent[]): Buffer {
  const b = chunkHeader(cookie, REPLY_FLAG_DONE, REPLY_TYPE.BLOCK_STATUS, 4 + 8 * extents.length, 4 + 8 * extents.length);
  b.writeUInt32BE(contextId, 20);
  let at = 24;
  for (const e of extents) {
    b.writeUInt32BE(e.length, at);
    // A zero range of a backup is both unallocated and known to read as zeros.
    b.writeUInt32BE(e.zero ? STATE_HOLE | STATE_ZERO : 0, at + 4);
    at += 8;
  }
  return b;
}

/** NBD_REPLY_TYPE_ERROR with DONE: the request failed as a whole; the message is for a person reading the client's log. */
export function errorChunk(cookie: Buffer, errno: number, message: string): Buffer {
  let text = Buffer.from(message, 'utf8');
  if (text.length > MAX_MESSAGE_BYTES) text = text.subarray(0, MAX_MESSAGE_BYTES);
  const b = chunkHeader(cookie, REPLY_FLAG_DONE, REPLY_TYPE.ERROR, 6 + text.length, 6 + text.length);
  b.writeUInt32BE(errno, 20);
  b.writeUInt16BE(text.length, 24);
  text.copy(b, 26);
  return b;
}

export type Extent = { offset: number; length: number; zero: boolean };

/**
 * Turns what a source's extents() answered into runs that cover [offset, offset+length)
 * exactly: clipped to the range, neighbours of one kind merged, and any part the source
 * left out reported as data (status 0 is always safe, proto.md "base:allocation").
 */
export function coverRange(answer: readonly { length: number; zero: boolean }[], offset: number, length: number): Extent[] {
  const end = offset + length;
  const out: Extent[] = [];
  let at = offset;
  const push = (len: number, zero: boolean) => {
    const last = out[out.length - 1];
    if (last && last.zero === zero) last.length += len;
    else out.push({ offset: at, length: len, zero });
    at += len;
  };
  for (const e of answer) {
    if (at >= end) break;
    if (!Number.isSafeInteger(e.length) || e.length < 0) throw new Error(`the source answered an extent of length ${e.length}`);
    if (e.length > 0) push(Math.min(e.length, end - at), e.zero === true);
  }
  if (at < end) push(end - at, false);
  return out;
}
