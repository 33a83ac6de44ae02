import { createConnection, type Socket } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { ByteQueue } from './byte-queue.js';
import { NbdError } from './errors.js';
import { negotiate, type NegotiatedExport } from './handshake.js';
import { CMD, REQUEST_MAGIC } from './protocol.js';
import { ReplyParser, type InFlight, type RequestKind } from './reply-parser.js';

export type NbdEndpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export type ConnectOptions = {
  endpoint: NbdEndpoint;
  exportName: string;
  metaContexts?: string[];
  tls?: ConnectionOptions;
  /** Connect + handshake deadline. */
  timeoutMs?: number;
};

export type BlockStatusDescriptor = { length: number; flags: number };

/** Where the socket's reads land before they are parsed; reused, so no allocation per read. */
const READ_BUFFER_SIZE = 1 << 20;

function describe(endpoint: NbdEndpoint): string {
  return endpoint.kind === 'unix' ? endpoint.path : `${endpoint.host}:${endpoint.port}`;
}

/**
 * One NBD connection in the transmission phase: requests are pipelined, replies are
 * matched by handle, so any number may be in flight.
 */
export class NbdConnection {
  private readonly inFlight = new Map<number, InFlight>();
  private nextHandle = 1;
  private closedWith: NbdError | null = null;
  private readonly parser: ReplyParser;
  bytesReceived = 0;

  private constructor(
    private readonly socket: Socket,
    readonly negotiated: NegotiatedExport,
    /** The server's socket path or host:port, for messages. */
    readonly where: string,
    readonly exportName: string,
  ) {
    this.parser = new ReplyParser(
      (h) => this.inFlight.get(h),
      (r) => this.complete(r),
      (n) => (this.bytesReceived += n),
      `NBD server ${where} (export "${exportName}")`,
    );
  }

  get pending(): number {
    return this.inFlight.size;
  }

  static async open(options: ConnectOptions): Promise<NbdConnection> {
    const where = describe(options.endpoint);
    const timeoutMs = options.timeoutMs ?? 30_000;
    let queue = new ByteQueue();
    let target: ((chunk: Buffer) => void) | null = (b) => queue.push(Buffer.from(b));
    const deliver = (chunk: Buffer) => target?.(chunk);
    const socketOptions = options.endpoint.kind === 'unix' ? { path: options.endpoint.path } : { host: options.endpoint.host, port: options.endpoint.port };
    // Plain sockets read into one reused buffer; a TLS upgrade needs ordinary 'data' events.
    const readBuffer = Buffer.allocUnsafe(options.tls ? 0 : READ_BUFFER_SIZE);
    const socket: Socket = options.tls
      ? createConnection(socketOptions)
      : createConnection({
          ...socketOptions,
          onread: { buffer: readBuffer, callback: (n) => (deliver(readBuffer.subarray(0, n)), true) },
        });
    if (options.tls) socket.on('data', deliver);
    if (options.endpoint.kind === 'tcp') socket.setNoDelay(true);

    let connection: NbdConnection | null = null;
    const fail = (error: NbdError) => {
      queue.fail(error);
      connection?.shutdown(error);
    };
    let active: Socket = socket;
    const onError = (e: Error) =>
      fail(
        connection
          ? new NbdError('NBD_CONNECTION_CLOSED', `NBD server ${where} closed the connection (${e.message})`, { cause: e })
          : new NbdError('NBD_CONNECT', `cannot connect to NBD server ${where}: ${e.message}`, { cause: e }),
      );
    const onClose = () => fail(new NbdError('NBD_CONNECTION_CLOSED', `NBD server ${where} closed the connection`));
    socket.on('error', onError);
    socket.on('close', onClose);
    const timer = setTimeout(() => {
      fail(new NbdError('NBD_TIMEOUT', `NBD handshake with ${where} took longer than ${timeoutMs} ms`));
      active.destroy();
    }, timeoutMs);
    try {
      const upgrade = (tlsSocket: TLSSocket): ByteQueue => {
        socket.off('data', deliver);
        queue = new ByteQueue();
        tlsSocket.on('data', deliver);
        tlsSocket.on('error', onError);
        tlsSocket.on('close', onClose);
        active = tlsSocket;
        return queue;
      };
      const result = await negotiate(socket, queue, upgrade, {
        exportName: options.exportName,
        metaContexts: options.metaContexts ?? [],
        tls: options.tls,
      });
      connection = new NbdConnection(result.socket, result.negotiated, where, options.exportName);
      const c = connection;
      target = (chunk) => c.onChunk(chunk);
      if (result.rest.length > 0) c.onChunk(result.rest);
      return connection;
    } catch (e) {
      active.destroy();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private onChunk(chunk: Buffer): void {
    if (this.closedWith) return;
    try {
      this.parser.feed(chunk);
    } catch (e) {
      const error = e instanceof NbdError ? e : new NbdError('NBD_PROTOCOL', `NBD ${this.where}: ${(e as Error).message}`);
      this.shutdown(error);
      this.socket.destroy();
    }
  }

  private complete(request: InFlight): void {
    this.inFlight.delete(request.handle);
    if (request.error) return request.reject(request.error);
    if (request.kind === 'read' && request.covered < request.length) {
      return request.reject(new NbdError('NBD_PROTOCOL', `read at ${request.offset}+${request.length}: the server sent only ${request.covered} bytes`));
    }
    request.resolve();
  }

  private shutdown(error: NbdError): void {
    if (this.closedWith) return;
    this.closedWith = error;
    const pending = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const r of pending) {
      r.reject(
        new NbdError(error.code, `${error.message} with ${pending.length} request(s) in flight (${r.kind} at ${r.offset}+${r.length} unanswered)`, {
          cause: error,
        }),
      );
    }
  }

  private send(request: InFlight, command: number, flags = 0, payload?: Buffer): void {
    if (this.closedWith) {
      request.reject(new NbdError(this.closedWith.code, this.closedWith.message));
      return;
    }
    const head = Buffer.allocUnsafe(28);
    head.writeUInt32BE(REQUEST_MAGIC, 0);
    head.writeUInt16BE(flags, 4);
    head.writeUInt16BE(command, 6);
    head.writeUInt32BE(0, 8);
    head.writeUInt32BE(request.handle, 12);
    head.writeBigUInt64BE(BigInt(request.offset), 16);
    head.writeUInt32BE(request.length, 24);
    this.inFlight.set(request.handle, request);
    if (!payload) {
      this.socket.write(head);
      return;
    }
    // Corked, the header and the caller's data leave in one writev, without a copy.
    this.socket.cork();
    this.socket.write(head);
    this.socket.write(payload);
    this.socket.uncork();
  }

  private handle(): number {
    const h = this.nextHandle;
    this.nextHandle = (this.nextHandle + 1) >>> 0 || 1;
    return h;
  }

  /** Reads `length` bytes at `offset` into `into` (from `at`), or into a new buffer. */
  read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > this.negotiated.size) {
      return Promise.reject(new NbdError('NBD_RANGE', `read ${offset}+${length} is outside the export (${this.negotiated.size} bytes)`));
    }
    if (length > this.negotiated.maxPayload) {
      return Promise.reject(new NbdError('NBD_RANGE', `read of ${length} bytes exceeds the server's ${this.negotiated.maxPayload}`));
    }
    const buffer = into ?? Buffer.allocUnsafe(length);
    return new Promise((resolve, reject) => {
      this.send({ handle: this.handle(), kind: 'read', offset, length, buffer, covered: 0, resolve: () => resolve(buffer), reject }, CMD.READ);
    });
  }

  /** BLOCK_STATUS over `offset`+`length`; returns each context's descriptors. */
  blockStatus(offset: number, length: number): Promise<Map<number, BlockStatusDescriptor[]>> {
    const status = new Map<number, Buffer>();
    return new Promise((resolve, reject) => {
      const done = () => {
        const out = new Map<number, BlockStatusDescriptor[]>();
        for (const [id, raw] of status) {
          const list: BlockStatusDescriptor[] = [];
          for (let i = 0; i + 8 <= raw.length; i += 8) list.push({ length: raw.readUInt32BE(i), flags: raw.readUInt32BE(i + 4) });
          out.set(id, list);
        }
        resolve(out);
      };
      this.send({ handle: this.handle(), kind: 'block-status', offset, length, status, covered: 0, resolve: done, reject }, CMD.BLOCK_STATUS);
    });
  }

  /**
   * A request that is answered by a reply without data: WRITE (with `payload`), WRITE_ZEROES,
   * TRIM, FLUSH. No policy here (read-only, advertised commands, splitting): NbdClient
   * decides; this only checks what would make the stream unusable.
   */
  command(kind: Exclude<RequestKind, 'read' | 'block-status'>, offset: number, length: number, flags = 0, payload?: Buffer): Promise<void> {
    if (kind === 'write' && payload?.length !== length) {
      return Promise.reject(
        new NbdError('NBD_PROTOCOL', `write at ${offset}+${length} on export "${this.exportName}" has ${payload?.length ?? 0} bytes of data`),
      );
    }
    const command = { write: CMD.WRITE, 'write-zeroes': CMD.WRITE_ZEROES, trim: CMD.TRIM, flush: CMD.FLUSH }[kind];
    return new Promise((resolve, reject) => {
      this.send({ handle: this.handle(), kind, offset, length, covered: 0, resolve, reject }, command, flags, payload);
    });
  }

  /** Sends NBD_CMD_DISC and closes the socket. */
  async close(): Promise<void> {
    if (!this.closedWith) {
      const head = Buffer.alloc(28);
      head.writeUInt32BE(REQUEST_MAGIC, 0);
      head.writeUInt16BE(CMD.DISC, 6);
      this.shutdown(new NbdError('NBD_CLOSED', `NBD connection to ${this.where} was closed by the client`));
      await new Promise<void>((resolve) => this.socket.end(head, () => resolve()));
    }
    this.socket.destroy();
  }
}
