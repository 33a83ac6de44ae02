import { NbdError } from './errors.js';
import { NbdConnection, type ConnectOptions } from './connection.js';
import { CMD_FLAG, TRANSMISSION_FLAGS } from './protocol.js';

export type NbdClientOptions = ConnectOptions & {
  /** Connections to open (used only when the export is read-only or announces multi-conn). Default 1. */
  connections?: number;
  /** Largest single READ request; larger reads are split. Default 256 KiB (QEMU serves
   * several of those faster than one large one), capped by the server. */
  maxRequestBytes?: number;
};

export type NbdStats = {
  bytesRead: number;
  readRequests: number;
  blockStatusRequests: number;
  bytesWritten: number;
  writeRequests: number;
  bytesZeroed: number;
  zeroRequests: number;
  bytesTrimmed: number;
  trimRequests: number;
  flushRequests: number;
};

export type WriteZeroesOptions = {
  /** Let the server deallocate the range (a hole, an unallocated qcow2 cluster) rather than write zeros. Default true. */
  punchHole?: boolean;
};

/** A range inside one minimum block, written by reading the block, patching it and writing it back. */
type Edge = { block: number; from: number; to: number };

// Zeroes written as data (a server without WRITE_ZEROES) go out from one shared buffer, a few requests at a time.
const ZERO_BUFFER_BYTES = 1024 * 1024;
const ZERO_WINDOW = 16;
// The request length field is 32 bits; zero and trim requests stay well below it.
const MAX_NO_PAYLOAD_REQUEST = 2 ** 31;

/**
 * An NBD export opened over one or more connections. Reads are split into requests of
 * at most `maxRequestBytes` and spread over the connections by least in-flight count;
 * writes, zeroes and trims likewise, split at the server's limits. Any number of
 * requests may be in flight.
 */
export class NbdClient {
  readonly stats: NbdStats = {
    bytesRead: 0,
    readRequests: 0,
    blockStatusRequests: 0,
    bytesWritten: 0,
    writeRequests: 0,
    bytesZeroed: 0,
    zeroRequests: 0,
    bytesTrimmed: 0,
    trimRequests: 0,
    flushRequests: 0,
  };
  private closed = false;
  /** Connections that carried a write, zero or trim since their last flush. */
  private readonly dirty = new Set<NbdConnection>();
  /** Write, zero and trim operations not yet answered in full; each settles, never rejects. */
  private readonly unsettled = new Set<Promise<unknown>>();
  /** Read-modify-write of a minimum block in progress, by block offset: two edits of one block take turns. */
  private readonly patching = new Map<number, Promise<void>>();
  private zeroBuffer: Buffer | null = null;
  private readonly minBlock: number;
  private readonly maxWrite: number;
  private readonly maxNoPayload: number;

  private constructor(
    private readonly connections: NbdConnection[],
    private readonly maxRequest: number,
  ) {
    const n = connections[0]!.negotiated;
    this.minBlock = Math.max(1, n.minBlockSize);
    this.maxWrite = Math.max(this.minBlock, Math.floor(n.maxPayload / this.minBlock) * this.minBlock);
    this.maxNoPayload = Math.max(this.minBlock, Math.floor(Math.min(n.maxBlockSize, MAX_NO_PAYLOAD_REQUEST) / this.minBlock) * this.minBlock);
  }

  static async connect(options: NbdClientOptions): Promise<NbdClient> {
    const first = await NbdConnection.open(options);
    const flags = first.negotiated.transmissionFlags;
    // Several connections see one consistent disk only if the server says so, or if nobody writes.
    const multi = (flags & TRANSMISSION_FLAGS.CAN_MULTI_CONN) !== 0 || (flags & TRANSMISSION_FLAGS.READ_ONLY) !== 0;
    const wanted = multi ? Math.max(1, options.connections ?? 1) : 1;
    const connections = [first];
    try {
      const rest = await Promise.all(Array.from({ length: wanted - 1 }, () => NbdConnection.open(options)));
      connections.push(...rest);
    } catch (e) {
      await Promise.all(connections.map((c) => c.close()));
      throw e;
    }
    const maxRequest = Math.min(options.maxRequestBytes ?? 256 * 1024, first.negotiated.maxPayload);
    return new NbdClient(connections, maxRequest);
  }

  get size(): number {
    return this.connections[0]!.negotiated.size;
  }

  get transmissionFlags(): number {
    return this.connections[0]!.negotiated.transmissionFlags;
  }

  get connectionCount(): number {
    return this.connections.length;
  }

  get exportName(): string {
    return this.connections[0]!.exportName;
  }

  get readOnly(): boolean {
    return (this.transmissionFlags & TRANSMISSION_FLAGS.READ_ONLY) !== 0;
  }

  /** Whether the server takes NBD_CMD_WRITE_ZEROES; without it, writeZeroes writes zero-filled data. */
  get canWriteZeroes(): boolean {
    return (this.transmissionFlags & TRANSMISSION_FLAGS.SEND_WRITE_ZEROES) !== 0;
  }

  get canTrim(): boolean {
    return (this.transmissionFlags & TRANSMISSION_FLAGS.SEND_TRIM) !== 0;
  }

  get canFlush(): boolean {
    return (this.transmissionFlags & TRANSMISSION_FLAGS.SEND_FLUSH) !== 0;
  }

  /** The alignment the server demands of offsets and lengths (1: none). Unaligned writes are read-modify-written. */
  get minBlockSize(): number {
    return this.minBlock;
  }

  /** The id the server gave a meta context (on the connection used for block status), or undefined. */
  contextId(name: string): number | undefined {
    return this.connections[0]!.negotiated.contexts.get(name);
  }

  private pick(): NbdConnection {
    let best = this.connections[0]!;
    for (const c of this.connections) if (c.pending < best.pending) best = c;
    return best;
  }

  /** Reads exactly `length` bytes at `offset` into a new buffer. */
  read(offset: number, length: number): Promise<Buffer> {
    return this.readInto(offset, Buffer.allocUnsafe(length));
  }

  /**
   * Reads `target.length` bytes at `offset` into `target`. Callers that recycle their
   * buffers avoid a fresh allocation (and its page faults) per read, as nbdcopy does.
   */
  async readInto(offset: number, target: Buffer): Promise<Buffer> {
    const length = target.length;
    if (this.closed) throw new NbdError('NBD_CLOSED', 'read on a closed NBD client');
    if (offset < 0 || offset + length > this.size) {
      throw new NbdError('NBD_RANGE', `read ${offset}+${length} is outside the export (${this.size} bytes)`);
    }
    const parts: Promise<Buffer>[] = [];
    for (let at = 0; at < length; at += this.maxRequest) {
      const n = Math.min(this.maxRequest, length - at);
      this.stats.readRequests++;
      parts.push(this.pick().read(offset + at, n, target.subarray(at, at + n)));
    }
    await Promise.all(parts);
    this.stats.bytesRead += length;
    return target;
  }

  /**
   * Writes `data` at `offset`. The socket holds `data` until the server answers: reuse
   * it only after the promise settles.
   */
  async write(offset: number, data: Buffer): Promise<void> {
    this.checkWritable('write', offset, data.length);
    if (data.length === 0) return;
    const { edges, start, end } = this.align(offset, data.length);
    const parts = edges.map((e) => this.patch(e, data.subarray(e.from - offset, e.to - offset)));
    for (let at = start; at < end; at += this.maxWrite) {
      const n = Math.min(this.maxWrite, end - at);
      parts.push(this.request('write', at, n, 0, data.subarray(at - offset, at - offset + n)));
    }
    await this.all(parts);
    this.stats.bytesWritten += data.length;
  }

  /**
   * Makes `length` bytes at `offset` read as zeros: NBD_CMD_WRITE_ZEROES where the server
   * has it (without NO_HOLE unless `punchHole: false`, so the server may deallocate),
   * zero-filled writes where it does not.
   */
  async writeZeroes(offset: number, length: number, options: WriteZeroesOptions = {}): Promise<void> {
    this.checkWritable('write-zeroes', offset, length);
    if (length === 0) return;
    const { edges, start, end } = this.align(offset, length);
    const parts = edges.map((e) => this.patch(e, null));
    if (!this.canWriteZeroes) parts.push(this.zeroByWriting(start, end));
    else {
      const flags = options.punchHole === false ? CMD_FLAG.NO_HOLE : 0;
      for (let at = start; at < end; at += this.maxNoPayload) parts.push(this.request('write-zeroes', at, Math.min(this.maxNoPayload, end - at), flags));
    }
    await this.all(parts);
    this.stats.bytesZeroed += length;
  }

  /**
   * Tells the server it may discard the range (its content is undefined afterwards).
   * Only whole minimum blocks are trimmed. False when the server takes no trims, or the
   * range holds no whole block: nothing was sent.
   */
  async trim(offset: number, length: number): Promise<boolean> {
    this.checkWritable('trim', offset, length);
    if (!this.canTrim) return false;
    const start = Math.ceil(offset / this.minBlock) * this.minBlock;
    const end = offset + length === this.size ? this.size : Math.floor((offset + length) / this.minBlock) * this.minBlock;
    if (start >= end) return false;
    const parts: Promise<void>[] = [];
    for (let at = start; at < end; at += this.maxNoPayload) parts.push(this.request('trim', at, Math.min(this.maxNoPayload, end - at)));
    await this.all(parts);
    this.stats.bytesTrimmed += end - start;
    return true;
  }

  /**
   * Makes every write, zero and trim this client issued before the call durable. A flush
   * covers only writes the server has answered on its connection (proto.md), so it waits
   * for those in flight, then flushes one connection on a multi-conn server (which
   * promises that one covers all) or each connection that wrote. False when the server
   * announced no flush (it has no write cache to flush) or the export is read-only.
   */
  async flush(): Promise<boolean> {
    if (this.closed) throw new NbdError('NBD_CLOSED', `flush on a closed NBD client (export "${this.exportName}")`);
    // Their failures reach whoever awaits them; here they only have to be over.
    await Promise.all([...this.unsettled]);
    if (!this.canFlush || this.readOnly) return false;
    const multi = (this.transmissionFlags & TRANSMISSION_FLAGS.CAN_MULTI_CONN) !== 0;
    const used = [...this.dirty];
    const targets = used.length === 0 ? [this.connections[0]!] : multi ? [used[0]!] : used;
    this.dirty.clear();
    try {
      await Promise.all(
        targets.map((c) => {
          this.stats.flushRequests++;
          return c.command('flush', 0, 0);
        }),
      );
    } catch (e) {
      // Not flushed: the next flush must cover these connections again.
      for (const c of used) this.dirty.add(c);
      throw e;
    }
    return true;
  }

  /** Raw BLOCK_STATUS for all negotiated contexts, on the first connection. */
  blockStatus(offset: number, length: number) {
    if (this.closed) return Promise.reject(new NbdError('NBD_CLOSED', 'block status on a closed NBD client'));
    this.stats.blockStatusRequests++;
    return this.connections[0]!.blockStatus(offset, length);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.connections.map((c) => c.close()));
  }

  /** Refuses, before anything is sent, what the export cannot take. */
  private checkWritable(what: string, offset: number, length: number): void {
    const name = `export "${this.exportName}" on NBD server ${this.connections[0]!.where}`;
    if (this.closed) throw new NbdError('NBD_CLOSED', `${what} on a closed NBD client (${name})`);
    if (this.readOnly) throw new NbdError('NBD_READ_ONLY', `${what} at ${offset}+${length} refused: ${name} is read-only`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new NbdError('NBD_RANGE', `${what} ${offset}+${length} is outside ${name} (${this.size} bytes)`);
    }
  }

  /**
   * Splits a range at the server's minimum block size: the partial blocks at either end
   * (none when the server demands no alignment) and the aligned middle. The export's end
   * counts as aligned, as a last short block can only be reached that way.
   */
  private align(offset: number, length: number): { edges: Edge[]; start: number; end: number } {
    const min = this.minBlock;
    const last = offset + length;
    if (min === 1) return { edges: [], start: offset, end: last };
    const start = Math.ceil(offset / min) * min;
    const end = last === this.size ? last : Math.floor(last / min) * min;
    if (start > end) return { edges: [{ block: Math.floor(offset / min) * min, from: offset, to: last }], start: last, end: last };
    const edges: Edge[] = [];
    if (offset < start) edges.push({ block: start - min, from: offset, to: start });
    if (end < last) edges.push({ block: end, from: end, to: last });
    return { edges, start, end };
  }

  /** Writes `data` (null: zeros) over part of one minimum block: reads the block, patches it, writes it back. */
  private async patch(edge: Edge, data: Buffer | null): Promise<void> {
    const before = this.patching.get(edge.block);
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const turn = (before ?? Promise.resolve()).then(() => mine);
    this.patching.set(edge.block, turn);
    await before;
    try {
      const block = await this.readInto(edge.block, Buffer.allocUnsafe(Math.min(this.minBlock, this.size - edge.block)));
      if (data) data.copy(block, edge.from - edge.block);
      else block.fill(0, edge.from - edge.block, edge.to - edge.block);
      await this.request('write', edge.block, block.length, 0, block);
    } finally {
      done();
      if (this.patching.get(edge.block) === turn) this.patching.delete(edge.block);
    }
  }

  private async zeroByWriting(start: number, end: number): Promise<void> {
    if (start >= end) return;
    const chunk = Math.min(this.maxWrite, Math.max(this.minBlock, Math.floor(ZERO_BUFFER_BYTES / this.minBlock) * this.minBlock));
    // Never written to, so every request in flight may share it.
    if (!this.zeroBuffer || this.zeroBuffer.length < chunk) this.zeroBuffer = Buffer.alloc(chunk);
    const zeros = this.zeroBuffer;
    let at = start;
    let failed = false;
    const lane = async () => {
      while (at < end && !failed) {
        const n = Math.min(chunk, end - at);
        const o = at;
        at += n;
        await this.request('write', o, n, 0, zeros.subarray(0, n)).catch((e: unknown) => {
          failed = true;
          throw e;
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(ZERO_WINDOW, Math.ceil((end - start) / chunk)) }, lane));
  }

  private request(kind: 'write' | 'write-zeroes' | 'trim', offset: number, length: number, flags = 0, payload?: Buffer): Promise<void> {
    const c = this.pick();
    this.dirty.add(c);
    if (kind === 'write') this.stats.writeRequests++;
    else if (kind === 'write-zeroes') this.stats.zeroRequests++;
    else this.stats.trimRequests++;
    return c.command(kind, offset, length, flags, payload);
  }

  /** Awaits an operation's parts; until all have settled, a flush waits for them. */
  private async all(parts: Promise<void>[]): Promise<void> {
    const settled = Promise.allSettled(parts);
    this.unsettled.add(settled);
    void settled.then(() => this.unsettled.delete(settled));
    await Promise.all(parts);
  }
}
