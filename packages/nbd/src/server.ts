import { unlink } from 'node:fs/promises';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { messageOf } from '@strongbox/core';
import { ByteQueue } from './byte-queue.js';
import { NbdError } from './errors.js';
import { negotiateServer, type ExportDirectory } from './server-handshake.js';
import { ServerTransmission } from './server-transmission.js';

/** A run of an export: `zero` when it reads as zeros (served as a hole, reported as HOLE|ZERO). */
export type ExportExtent = { length: number; zero: boolean };

/**
 * What an NbdServer export reads: a restore point's disk, an image, memory in a test.
 * The server only asks for ranges inside [0, size), at most 32 MiB at a time, often
 * concurrently; a rejected promise fails that one request with EIO.
 */
export type ExportSource = {
  readonly size: number;
  /** The source's natural block; announced as the preferred block size when it is a power of 2 (else 64 KiB). */
  readonly blockSize?: number;
  /** Exactly `length` bytes from `offset`. The server does not modify the buffer. */
  read(offset: number, length: number): Promise<Buffer>;
  /** Consecutive extents from `offset` covering `length` bytes; what runs past the range is ignored, what falls short is treated as data. */
  extents(offset: number, length: number): Promise<ExportExtent[]>;
};

/** Per export, since the server started: what the console shows as "data served". */
export type ExportStats = {
  /** Bytes of the export that READ requests returned (holes count: the client read them). */
  bytesServed: number;
  /** Requests of every kind, refused ones included. */
  requests: number;
  /** Connections in the transmission phase on this export now. */
  connections: number;
  lastRequestAt: Date | null;
};

export type NbdListenAddress = { unix: string } | { host: string; port: number };

/** The exports by name: a map (read at every lookup, so it may change while the server runs) or a lookup function (then NBD_OPT_LIST is refused). */
export type NbdExports = ReadonlyMap<string, ExportSource> | ((name: string) => ExportSource | undefined);

export type NbdServerOptions = {
  /**
   * Failures the clients see only as an errno: a source's read or extents call that failed
   * (NBD_SOURCE; the client got EIO and the connection lives on), a client that broke the
   * protocol (NBD_HANDSHAKE, NBD_PROTOCOL; disconnected), an unknown export asked through
   * NBD_OPT_EXPORT_NAME (NBD_EXPORT), a handshake left unfinished (NBD_TIMEOUT). Without
   * it they are emitted as process warnings.
   */
  onError?: (error: NbdError) => void;
  /** READ and BLOCK_STATUS requests served at once per connection; more wait unread in the socket. Default 32 (QEMU keeps up to 16 in flight). */
  maxRequestsPerConnection?: number;
  /** A connection that has not finished its handshake by then is dropped. Default 30 s. */
  handshakeTimeoutMs?: number;
};

const DEFAULT_MAX_REQUESTS = 32;
/** Two reads of the largest size, or many small ones, per connection: bounds the memory of replies being built or queued. */
const MAX_BYTES_IN_FLIGHT = 64 * 1024 * 1024;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;
/** How long close() lets in-flight requests finish before it drops their connections. */
const SHUTDOWN_GRACE_MS = 5_000;

const describe = (a: NbdListenAddress): string => ('unix' in a ? a.unix : `${a.host}:${a.port}`);

/**
 * A read-only NBD server (fixed newstyle, structured replies, `base:allocation`,
 * multi-connection) for exports such as a restore point's disks: QEMU boots a VM from
 * qcow2 overlays backed by them (Instant VM recovery), libguestfs and nbdcopy read them.
 */
export class NbdServer {
  private readonly handshaking = new Set<Socket>();
  private readonly serving = new Set<ServerTransmission>();
  private readonly statsByExport = new Map<string, ExportStats>();
  private closing: Promise<void> | null = null;
  private bound: NbdListenAddress;

  private constructor(
    private readonly server: Server,
    address: NbdListenAddress,
    private readonly directory: ExportDirectory,
    private readonly options: NbdServerOptions,
  ) {
    this.bound = address;
    server.on('connection', (socket: Socket) => void this.accept(socket));
  }

  static async listen(address: NbdListenAddress, exports: NbdExports, options: NbdServerOptions = {}): Promise<NbdServer> {
    const directory: ExportDirectory =
      typeof exports === 'function' ? { find: exports, names: () => null } : { find: (name) => exports.get(name), names: () => [...exports.keys()] };
    const server = new NbdServer(createServer(), address, directory, options);
    await server.bind(address);
    return server;
  }

  /** Where the server listens; for a TCP port 0, the port the system chose. */
  get address(): NbdListenAddress {
    return this.bound;
  }

  /** A snapshot of every export's figures (exports appear at their first connection). */
  stats(): Map<string, ExportStats> {
    return new Map([...this.statsByExport].map(([name, s]) => [name, { ...s, lastRequestAt: s.lastRequestAt && new Date(s.lastRequestAt) }]));
  }

  /**
   * Stops listening, lets in-flight requests finish (up to a few seconds), ends every
   * connection and removes the socket file. The sources stay open: they are the caller's.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // Node removes a Unix socket file when its server closes; the callback runs once every connection has ended.
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      const handshakes = [...this.handshaking].map((socket) => new Promise((resolve) => socket.once('close', resolve).destroy()));
      await Promise.all([...handshakes, ...[...this.serving].map((t) => t.shutdown(SHUTDOWN_GRACE_MS))]);
      await stopped;
    })();
    return this.closing;
  }

  private async bind(address: NbdListenAddress): Promise<void> {
    const listen = () =>
      new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen('unix' in address ? { path: address.unix } : { host: address.host, port: address.port }, () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    try {
      try {
        await listen();
      } catch (e) {
        // A socket file left by a process that died refuses connections: it is stale, and replacing it is safe. A live one is never touched.
        if (!('unix' in address) || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !(await refuses(address.unix))) throw e;
        await unlink(address.unix);
        await listen();
      }
    } catch (e) {
      throw new NbdError('NBD_LISTEN', `the NBD server cannot listen on ${describe(address)}: ${messageOf(e)}`, { cause: e });
    }
    if (!('unix' in address)) this.bound = { host: address.host, port: (this.server.address() as AddressInfo).port };
  }

  private async accept(socket: Socket): Promise<void> {
    if (this.closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    // A socket error (a reset when the client is killed, EPIPE on a late reply) ends only that connection, and
    // 'close' follows and cleans up; the client is gone, so there is no one to tell and nothing else to do.
    socket.on('error', () => {});
    const queue = new ByteQueue();
    const onData = (chunk: Buffer) => queue.push(chunk);
    socket.on('data', onData);
    socket.once('close', () => queue.fail(new NbdError('NBD_CONNECTION_CLOSED', 'the client closed the connection during the handshake')));
    const timeoutMs = this.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const timer = setTimeout(() => queue.fail(new NbdError('NBD_TIMEOUT', `an NBD client did not finish its handshake within ${timeoutMs} ms`)), timeoutMs);
    this.handshaking.add(socket);
    try {
      const negotiated = await negotiateServer(socket, queue, this.directory);
      socket.off('data', onData);
      if (!negotiated) {
        socket.end();
        return;
      }
      if (this.closing) {
        socket.destroy();
        return;
      }
      const stats = this.statsOf(negotiated.exportName);
      stats.connections++;
      const limits = { maxRequests: this.options.maxRequestsPerConnection ?? DEFAULT_MAX_REQUESTS, maxBytes: MAX_BYTES_IN_FLIGHT };
      const transmission = new ServerTransmission(socket, negotiated, stats, limits, (e) => this.report(e));
      this.serving.add(transmission);
      socket.once('close', () => {
        stats.connections--;
        this.serving.delete(transmission);
      });
    } catch (e) {
      socket.off('data', onData);
      socket.destroy();
      // A client that connects and leaves (a probe, nbdinfo --list) is ordinary; anything else is worth reporting.
      if (!(e instanceof NbdError && e.code === 'NBD_CONNECTION_CLOSED')) {
        this.report(e instanceof NbdError ? e : new NbdError('NBD_HANDSHAKE', `NBD handshake failed: ${messageOf(e)}`, { cause: e }));
      }
    } finally {
      clearTimeout(timer);
      this.handshaking.delete(socket);
    }
  }

  private statsOf(name: string): ExportStats {
    let s = this.statsByExport.get(name);
    if (!s) this.statsByExport.set(name, (s = { bytesServed: 0, requests: 0, connections: 0, lastRequestAt: null }));
    return s;
  }

  private report(error: NbdError): void {
    if (this.options.onError) this.options.onError(error);
    else process.emitWarning(error);
  }
}

/** Whether a Unix socket file refuses connections (nobody listens on it). */
function refuses(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}
