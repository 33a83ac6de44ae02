import type { Socket } from 'node:net';
import { messageOf } from '@strongbox/core';
import { NbdError } from './errors.js';
import { CMD, CMD_FLAG, DEFAULT_MAX_PAYLOAD, ERRNO, REQUEST_MAGIC } from './protocol.js';
import type { ServerNegotiated } from './server-handshake.js';
import { MAX_STATUS_DESCRIPTORS, allocationChunk, coverRange, dataChunk, errorChunk, holeChunk, noneChunk, simpleReply } from './server-replies.js';
import type { ExportStats } from './server.js';

/** proto.md "Request message": magic, flags, type, cookie, offset, length. */
const REQUEST_BYTES = 28;
const EMPTY = Buffer.alloc(0);

type Request = { flags: number; type: number; cookie: Buffer; offset: number; length: number };

export type TransmissionLimits = {
  /** READ and BLOCK_STATUS requests served at once; more wait unread in the socket. */
  maxRequests: number;
  /** Bytes of READ requests served at once (one larger request is still admitted alone). */
  maxBytes: number;
};

/** A request the server answers with an error (errno and a message for the client's log). */
class Refusal {
  constructor(
    readonly errno: number,
    readonly message: string,
  ) {}
}

/**
 * One connection in the transmission phase (proto.md "Transmission"). Requests are read
 * as they arrive and served concurrently; each reply goes out as soon as its request is
 * done, so replies are out of order, matched by their cookie. The socket stops being read
 * while the in-flight bounds are reached, and a request keeps its slot until its reply is
 * accepted by the socket (drain), so a slow client holds back its own requests and the
 * memory of queued replies stays bounded.
 */
export class ServerTransmission {
  private buffered: Buffer = EMPTY;
  /** Payload bytes of a WRITE still to skip, and the WRITE to refuse once they are. */
  private discarding = 0;
  private refusedWrite: Request | null = null;
  private inFlight = 0;
  private inFlightBytes = 0;
  private paused = false;
  /** Set by NBD_CMD_DISC or the server's close: no further request is read. */
  private stopping = false;
  private closed = false;
  private readonly drainWaiters: (() => void)[] = [];
  private idleWaiter: (() => void) | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly negotiated: ServerNegotiated,
    private readonly stats: ExportStats,
    private readonly limits: TransmissionLimits,
    private readonly report: (error: NbdError) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => this.wakeDrain());
    socket.once('close', () => {
      this.closed = true;
      this.wakeDrain();
      this.idleWaiter?.();
    });
    if (negotiated.rest.length > 0) this.receive(negotiated.rest);
  }

  /** Ends the connection for a server shutdown: in-flight requests are answered first (proto.md "Terminating the transmission phase"), for at most graceMs. */
  async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    this.socket.pause();
    if (this.inFlight > 0 && !this.closed) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idleWaiter = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
    }
    this.socket.destroy();
    if (!this.closed) await new Promise((resolve) => this.socket.once('close', resolve));
  }

  private receive(chunk: Buffer): void {
    // proto.md "NBD_CMD_DISC": a client MUST NOT send anything after it, so nothing is read past it.
    if (this.stopping) return;
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    this.pump();
  }

  /** Parses and starts every complete request the bounds admit. */
  private pump(): void {
    while (!this.stopping) {
      if (this.discarding > 0) {
        const n = Math.min(this.discarding, this.buffered.length);
        this.buffered = this.buffered.subarray(n);
        this.discarding -= n;
        if (this.discarding > 0) break;
        const write = this.refusedWrite!;
        this.refusedWrite = null;
        this.refuse(write, new Refusal(ERRNO.EPERM, 'the export is read-only'));
        continue;
      }
      const b = this.buffered;
      if (b.length < REQUEST_BYTES) break;
      if (b.readUInt32BE(0) !== REQUEST_MAGIC) {
        // Without the magic, request boundaries are lost: proto.md allows a hard disconnect on such a violation.
        this.report(new NbdError('NBD_PROTOCOL', `a client of export "${this.negotiated.exportName}" sent a request with a bad magic; disconnected`));
        this.stopping = true;
        this.socket.destroy();
        return;
      }
      const type = b.readUInt16BE(6);
      const length = b.readUInt32BE(24);
      if (type === CMD.READ || type === CMD.BLOCK_STATUS) {
        const cost = type === CMD.READ ? length : 0;
        if (this.inFlight > 0 && (this.inFlight >= this.limits.maxRequests || this.inFlightBytes + cost > this.limits.maxBytes)) {
          if (!this.paused) this.socket.pause();
          this.paused = true;
          return;
        }
      }
      const offset = b.readBigUInt64BE(16);
      const request: Request = {
        flags: b.readUInt16BE(4),
        type,
        cookie: Buffer.from(b.subarray(8, 16)),
        // An offset past 2^53 is outside any export; -1 makes the range check refuse it.
        offset: offset > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(offset),
        length,
      };
      this.buffered = b.subarray(REQUEST_BYTES);
      this.handle(request);
    }
    if (this.paused && !this.stopping) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private handle(request: Request): void {
    this.stats.requests++;
    this.stats.lastRequestAt = new Date();
    switch (request.type) {
      case CMD.WRITE:
        // The payload follows the header whatever the answer: skip it, then refuse (proto.md "NBD_FLAG_READ_ONLY": writes MUST fail).
        if (request.length === 0) this.refuse(request, new Refusal(ERRNO.EPERM, 'the export is read-only'));
        else {
          this.refusedWrite = request;
          this.discarding = request.length;
        }
        return;
      case CMD.TRIM:
      case CMD.WRITE_ZEROES:
        this.refuse(request, new Refusal(ERRNO.EPERM, 'the export is read-only'));
        return;
      case CMD.DISC:
        // proto.md "NBD_CMD_DISC": handle every outstanding request, then close; no reply.
        this.stopping = true;
        this.endWhenIdle();
        return;
      case CMD.FLUSH:
      case CMD.CACHE: {
        // Nothing is ever written, so a flush has nothing to persist; CACHE is a hint we may ignore (proto.md "NBD_CMD_CACHE").
        const refusal = this.checkFlags(request, 0) ?? (request.type === CMD.CACHE ? this.checkRange(request) : null);
        if (refusal) this.refuse(request, refusal);
        else void this.send([simpleReply(request.cookie, 0)]);
        return;
      }
      case CMD.READ:
      case CMD.BLOCK_STATUS:
        this.start(request);
        return;
      default:
        // proto.md "Error values": EINVAL for an unknown command.
        this.refuse(request, new Refusal(ERRNO.EINVAL, `command ${request.type} is not supported`));
    }
  }

  private start(request: Request): void {
    const cost = request.type === CMD.READ ? request.length : 0;
    this.inFlight++;
    this.inFlightBytes += cost;
    const work = request.type === CMD.READ ? this.read(request) : this.blockStatus(request);
    void work
      .catch((e: unknown) =>
        this.report(new NbdError('NBD_PROTOCOL', `serving a request of export "${this.negotiated.exportName}": ${messageOf(e)}`, { cause: e })),
      )
      .finally(() => {
        this.inFlight--;
        this.inFlightBytes -= cost;
        if (this.stopping) {
          if (this.inFlight === 0) this.idleWaiter?.();
        } else this.pump();
      });
  }

  private async read(request: Request): Promise<void> {
    const { structuredReplies } = this.negotiated;
    const df = (request.flags & CMD_FLAG.DF) !== 0;
    const refusal =
      this.checkFlags(request, structuredReplies ? CMD_FLAG.DF : 0) ??
      this.checkRange(request) ??
      // proto.md "NBD_CMD_READ": a server MAY refuse a read larger than its maximum payload, with EOVERFLOW when structured.
      (request.length > DEFAULT_MAX_PAYLOAD
        ? new Refusal(structuredReplies ? ERRNO.EOVERFLOW : ERRNO.EINVAL, `a read of ${request.length} bytes exceeds the maximum of ${DEFAULT_MAX_PAYLOAD}`)
        : null);
    if (refusal) return this.refuse(request, refusal);
    const { source } = this.negotiated;
    const { cookie, offset, length } = request;
    let parts: Buffer[];
    try {
      if (!structuredReplies || df) {
        // Simple replies carry the data whole; DF asks for at most one content chunk, holes written out as zeros (proto.md "NBD_CMD_FLAG_DF").
        const data = await readExactly(source.read(offset, length), length);
        if (!structuredReplies) parts = [simpleReply(cookie, 0), data];
        else parts = length === 0 ? [noneChunk(cookie)] : dataChunk(cookie, offset, data, true);
      } else {
        const extents = coverRange(await source.extents(offset, length), offset, length);
        const data = await Promise.all(extents.map((e) => (e.zero ? null : readExactly(source.read(e.offset, e.length), e.length))));
        parts = [];
        // Content chunks may use DONE on the last one: every byte is in hand, so no error can follow (proto.md "Structured replies").
        extents.forEach((e, i) => {
          const done = i === extents.length - 1;
          const d = data[i];
          if (d) parts.push(...dataChunk(cookie, e.offset, d, done));
          else parts.push(holeChunk(cookie, e.offset, e.length, done));
        });
        if (extents.length === 0) parts.push(noneChunk(cookie));
      }
    } catch (e) {
      return this.sourceFailed(request, 'read', e);
    }
    this.stats.bytesServed += length;
    await this.send(parts);
  }

  private async blockStatus(request: Request): Promise<void> {
    const context = this.negotiated.allocationContext;
    // proto.md "Metadata querying": EINVAL for a client that selected no context.
    if (context === null) return this.refuse(request, new Refusal(ERRNO.EINVAL, 'no meta context was selected for this export'));
    const refusal =
      this.checkFlags(request, CMD_FLAG.REQ_ONE) ?? (request.length === 0 ? new Refusal(ERRNO.EINVAL, 'a block status of 0 bytes') : this.checkRange(request));
    if (refusal) return this.refuse(request, refusal);
    let extents;
    try {
      extents = coverRange(await this.negotiated.source.extents(request.offset, request.length), request.offset, request.length);
    } catch (e) {
      return this.sourceFailed(request, 'block status', e);
    }
    // REQ_ONE: exactly one descriptor, no longer than the request (coverRange never runs past it).
    const limit = request.flags & CMD_FLAG.REQ_ONE ? 1 : MAX_STATUS_DESCRIPTORS;
    await this.send([allocationChunk(request.cookie, context, extents.slice(0, limit))]);
  }

  /** proto.md "Error values": EINVAL for a flag not documented for the command. FUA is let through: clients are known to set it anywhere. */
  private checkFlags(request: Request, allowed: number): Refusal | null {
    const unknown = request.flags & ~(allowed | CMD_FLAG.FUA);
    return unknown ? new Refusal(ERRNO.EINVAL, `command flags 0x${unknown.toString(16)} are not valid for command ${request.type}`) : null;
  }

  private checkRange(request: Request): Refusal | null {
    const size = this.negotiated.source.size;
    if (request.offset >= 0 && request.offset + request.length <= size) return null;
    return new Refusal(
      ERRNO.EINVAL,
      `${request.offset < 0 ? 'an offset past 2^53' : `${request.offset}+${request.length}`} is outside the export (${size} bytes)`,
    );
  }

  private sourceFailed(request: Request, what: string, e: unknown): void {
    const range = `${request.offset}+${request.length}`;
    this.report(new NbdError('NBD_SOURCE', `export "${this.negotiated.exportName}": ${what} of ${range} failed: ${messageOf(e)}`, { cause: e }));
    this.refuse(request, new Refusal(ERRNO.EIO, `${what} of ${range} failed: ${messageOf(e)}`));
  }

  /** proto.md "Structured reply chunk message": once structured replies are on, errors go as error chunks (READ MUST), with their message. */
  private refuse(request: Request, refusal: Refusal): void {
    const reply = this.negotiated.structuredReplies ? errorChunk(request.cookie, refusal.errno, refusal.message) : simpleReply(request.cookie, refusal.errno);
    void this.send([reply]);
  }

  /** Writes one reply's buffers back to back; resolves once the socket takes more (its buffer is under the high-water mark). */
  private async send(parts: Buffer[]): Promise<void> {
    if (this.closed || this.socket.destroyed) return;
    this.socket.cork();
    for (const p of parts) this.socket.write(p);
    this.socket.uncork();
    if (this.socket.writableNeedDrain) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  private wakeDrain(): void {
    for (const w of this.drainWaiters.splice(0)) w();
  }

  private endWhenIdle(): void {
    if (this.inFlight === 0) {
      this.socket.end();
      return;
    }
    this.idleWaiter = () => this.socket.end();
  }
}

/** A source that answers with the wrong number of bytes would corrupt the stream: it is a failure of that request. */
async function readExactly(read: Promise<Buffer>, length: number): Promise<Buffer> {
  const data = await read;
  if (data.length !== length) throw new Error(`the source returned ${data.length} bytes for a read of ${length}`);
  return data;
}
