import { NbdError } from './errors.js';
import { NbdConnection, type ConnectOptions } from './connection.js';
import { TRANSMISSION_FLAGS } from './protocol.js';

export type NbdClientOptions = ConnectOptions & {
  /** Connections to open (used only when the export is read-only or announces multi-conn). Default 1. */
  connections?: number;
  /** Largest single READ request; larger reads are split. Default 256 KiB (QEMU serves
   * several of those faster than one large one), capped by the server. */
  maxRequestBytes?: number;
};

export type NbdStats = { bytesRead: number; readRequests: number; blockStatusRequests: number };

/**
 * An NBD export opened over one or more connections. Reads are split into requests of
 * at most `maxRequestBytes` and spread over the connections by least in-flight count.
 */
export class NbdClient {
  readonly stats: NbdStats = { bytesRead: 0, readRequests: 0, blockStatusRequests: 0 };
  private closed = false;

  private constructor(
    private readonly connections: NbdConnection[],
    private readonly maxRequest: number,
  ) {}

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
}
