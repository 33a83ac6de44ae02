import { NbdError } from './errors.js';
import { ERRNO_NAMES, REPLY_FLAG_DONE, REPLY_TYPE, SIMPLE_REPLY_MAGIC, STRUCTURED_REPLY_MAGIC } from './protocol.js';

/** What a request asked for; names the request in errors. */
export type RequestKind = 'read' | 'block-status' | 'write' | 'write-zeroes' | 'trim' | 'flush';

/** A request in flight, as the parser needs it. */
export type InFlight = {
  handle: number;
  kind: RequestKind;
  offset: number;
  length: number;
  /** READ: where the data goes; allocated by the caller, filled in place. */
  buffer?: Buffer;
  covered: number;
  /** BLOCK_STATUS: raw descriptors per context id. */
  status?: Map<number, Buffer>;
  error?: NbdError;
  resolve: () => void;
  reject: (e: Error) => void;
};

const MAX_CHUNK_PAYLOAD = 64 * 1024 * 1024;

/**
 * Parses simple and structured replies from a stream of socket chunks. READ data is
 * copied once, straight from the socket chunk into the caller's buffer.
 */
export class ReplyParser {
  private readonly head = Buffer.alloc(20);
  private headHave = 0;
  private state: 'head' | 'data' | 'payload' = 'head';
  private request: InFlight | null = null;
  private remaining = 0;
  private dest: Buffer | null = null;
  private destPos = 0;
  private payload: Buffer | null = null;
  private payloadPos = 0;
  private chunkType = 0;
  private chunkDone = false;
  private simple = false;

  constructor(
    private readonly lookup: (handle: number) => InFlight | undefined,
    private readonly finish: (request: InFlight) => void,
    /** Bytes of READ data received, for statistics. */
    private readonly onData: (bytes: number) => void,
    /** Names the server and export in server errors. */
    private readonly label = 'NBD server',
  ) {}

  feed(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.state === 'head') pos = this.readHead(chunk, pos);
      else if (this.state === 'data') {
        const n = Math.min(this.remaining, chunk.length - pos);
        if (this.dest) chunk.copy(this.dest, this.destPos, pos, pos + n);
        this.destPos += n;
        this.remaining -= n;
        pos += n;
        this.onData(n);
        if (this.remaining === 0) this.endChunk();
      } else {
        const n = Math.min(this.remaining, chunk.length - pos);
        chunk.copy(this.payload!, this.payloadPos, pos, pos + n);
        this.payloadPos += n;
        this.remaining -= n;
        pos += n;
        if (this.remaining === 0) this.onPayload();
      }
    }
  }

  private readHead(chunk: Buffer, pos: number): number {
    const need = (this.headHave >= 4 && this.head.readUInt32BE(0) === SIMPLE_REPLY_MAGIC ? 16 : 20) - this.headHave;
    const take = Math.min(this.headHave < 4 ? 4 - this.headHave : need, chunk.length - pos);
    chunk.copy(this.head, this.headHave, pos, pos + take);
    this.headHave += take;
    pos += take;
    if (this.headHave < 4) return pos;
    const magic = this.head.readUInt32BE(0);
    if (magic !== SIMPLE_REPLY_MAGIC && magic !== STRUCTURED_REPLY_MAGIC) {
      throw new NbdError('NBD_PROTOCOL', `bad reply magic 0x${magic.toString(16)}`);
    }
    const size = magic === SIMPLE_REPLY_MAGIC ? 16 : 20;
    if (this.headHave < size) return pos;
    this.headHave = 0;
    if (magic === SIMPLE_REPLY_MAGIC) this.onSimple();
    else this.onStructured();
    return pos;
  }

  private take(handle: number): InFlight {
    const r = this.lookup(handle);
    if (!r) throw new NbdError('NBD_PROTOCOL', `reply for unknown handle ${handle}`);
    return r;
  }

  private onSimple(): void {
    const error = this.head.readUInt32BE(4);
    const request = this.take(this.head.readUInt32BE(12));
    this.request = request;
    this.simple = true;
    this.chunkDone = true;
    if (error !== 0) request.error = serverError(this.label, error, '', request);
    if (error === 0 && request.kind === 'read') {
      this.state = 'data';
      this.dest = request.buffer!;
      this.destPos = 0;
      this.remaining = request.length;
      request.covered = request.length;
      if (this.remaining > 0) return;
    }
    this.endChunk();
  }

  private onStructured(): void {
    const flags = this.head.readUInt16BE(4);
    this.chunkType = this.head.readUInt16BE(6);
    const request = this.take(this.head.readUInt32BE(12));
    const length = this.head.readUInt32BE(16);
    this.request = request;
    this.simple = false;
    this.chunkDone = (flags & REPLY_FLAG_DONE) !== 0;
    if (length > MAX_CHUNK_PAYLOAD) throw new NbdError('NBD_PROTOCOL', `reply chunk of ${length} bytes is too long`);
    if (this.chunkType === REPLY_TYPE.OFFSET_DATA) {
      if (request.kind !== 'read' || length < 8) throw new NbdError('NBD_PROTOCOL', 'unexpected data chunk');
      // The 8-byte offset is read as a small payload first; then the data streams in place.
      this.payload = Buffer.alloc(8);
      this.payloadPos = 0;
      this.remaining = 8;
      this.state = 'payload';
      this.dataLength = length - 8;
      return;
    }
    this.payload = Buffer.alloc(length);
    this.payloadPos = 0;
    this.remaining = length;
    this.state = 'payload';
    if (length === 0) this.onPayload();
  }

  private dataLength = 0;

  private onPayload(): void {
    const request = this.request!;
    const p = this.payload!;
    this.payload = null;
    switch (this.chunkType) {
      case REPLY_TYPE.OFFSET_DATA: {
        const at = Number(p.readBigUInt64BE(0)) - request.offset;
        if (this.dataLength === 0 && at >= 0) return this.endChunk();
        if (at < 0 || at + this.dataLength > request.length) {
          throw new NbdError('NBD_PROTOCOL', `data chunk outside the request at ${request.offset}+${request.length}`);
        }
        this.dest = request.buffer!;
        this.destPos = at;
        this.remaining = this.dataLength;
        request.covered += this.dataLength;
        this.state = 'data';
        return;
      }
      case REPLY_TYPE.OFFSET_HOLE: {
        const at = Number(p.readBigUInt64BE(0)) - request.offset;
        const size = p.readUInt32BE(8);
        if (request.kind !== 'read' || at < 0 || at + size > request.length) {
          throw new NbdError('NBD_PROTOCOL', 'hole chunk outside the request');
        }
        request.buffer!.fill(0, at, at + size);
        request.covered += size;
        break;
      }
      case REPLY_TYPE.BLOCK_STATUS: {
        if (request.kind !== 'block-status' || p.length < 12) throw new NbdError('NBD_PROTOCOL', 'unexpected block status chunk');
        request.status!.set(p.readUInt32BE(0), p.subarray(4));
        break;
      }
      case REPLY_TYPE.NONE:
        break;
      default:
        if (this.chunkType & 0x8000) {
          const errno = p.readUInt32BE(0);
          const msgLength = p.readUInt16BE(4);
          request.error ??= serverError(this.label, errno, p.subarray(6, 6 + msgLength).toString('utf8'), request);
          break;
        }
        // Unknown non-error chunk types must be ignored (proto.md).
        break;
    }
    this.endChunk();
  }

  private endChunk(): void {
    this.state = 'head';
    this.dest = null;
    const request = this.request!;
    this.request = null;
    if (this.chunkDone || this.simple) this.finish(request);
  }
}

function serverError(label: string, errno: number, message: string, request: InFlight): NbdError {
  const name = ERRNO_NAMES[errno] ?? `errno ${errno}`;
  return new NbdError('NBD_SERVER_ERROR', `${label} failed ${request.kind} at ${request.offset}+${request.length}: ${name}${message ? ` (${message})` : ''}`, {
    errno: name,
  });
}
