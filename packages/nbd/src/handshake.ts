import type { Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { ByteQueue } from './byte-queue.js';
import { NbdError } from './errors.js';
import { DEFAULT_MAX_PAYLOAD, FLAG_FIXED_NEWSTYLE, FLAG_NO_ZEROES, IHAVEOPT, INFO, NBDMAGIC, OPT, OPTION_REPLY_MAGIC, REP, REP_ERR_NAMES } from './protocol.js';

export type NegotiatedExport = {
  size: number;
  transmissionFlags: number;
  /** Context name → id the server assigned on this connection. */
  contexts: Map<string, number>;
  structuredReplies: boolean;
  minBlockSize: number;
  preferredBlockSize: number;
  maxPayload: number;
  /** The maximum block size as advertised (0xffffffff when none was): bounds WRITE_ZEROES and TRIM, which carry no payload. */
  maxBlockSize: number;
};

export type HandshakeOptions = {
  exportName: string;
  metaContexts: string[];
  /** TLS settings; when set, the client insists on STARTTLS. */
  tls?: ConnectionOptions;
};

type Reply = { type: number; data: Buffer };

/** One option exchange at a time over a byte queue: the fixed newstyle negotiation. */
class Negotiator {
  constructor(
    private queue: ByteQueue,
    private socket: Socket,
  ) {}

  rebind(queue: ByteQueue, socket: Socket): void {
    this.queue = queue;
    this.socket = socket;
  }

  send(option: number, data: Buffer = Buffer.alloc(0)): void {
    const head = Buffer.alloc(16);
    head.writeBigUInt64BE(IHAVEOPT, 0);
    head.writeUInt32BE(option, 8);
    head.writeUInt32BE(data.length, 12);
    this.socket.write(Buffer.concat([head, data]));
  }

  async reply(option: number): Promise<Reply> {
    const head = await this.queue.readExact(20);
    if (head.readBigUInt64BE(0) !== OPTION_REPLY_MAGIC) throw new NbdError('NBD_HANDSHAKE', 'bad option reply magic');
    if (head.readUInt32BE(8) !== option) {
      throw new NbdError('NBD_HANDSHAKE', `reply for option ${head.readUInt32BE(8)} while waiting for ${option}`);
    }
    const length = head.readUInt32BE(16);
    if (length > 1 << 20) throw new NbdError('NBD_HANDSHAKE', `option reply of ${length} bytes is too long`);
    return { type: head.readUInt32BE(12), data: length > 0 ? await this.queue.readExact(length) : Buffer.alloc(0) };
  }
}

function replyError(what: string, reply: Reply): NbdError {
  const name = REP_ERR_NAMES[reply.type] ?? `0x${reply.type.toString(16)}`;
  const text = reply.data.toString('utf8').trim();
  if (name === 'TLS_REQD') {
    return new NbdError('NBD_TLS_REQUIRED', `the NBD server requires TLS for ${what}; pass TLS options`);
  }
  const code = what.startsWith('export') ? 'NBD_EXPORT' : 'NBD_HANDSHAKE';
  return new NbdError(code, `NBD server refused ${what}: ${name}${text ? ` (${text})` : ''}`);
}

function nameBuffer(name: string): Buffer {
  const bytes = Buffer.from(name, 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(bytes.length);
  return Buffer.concat([head, bytes]);
}

/**
 * Runs the fixed newstyle handshake up to the transmission phase. Returns the socket to
 * use from then on (a TLS socket after STARTTLS), any bytes already received past the
 * handshake, and what the server announced.
 */
export async function negotiate(
  socket: Socket,
  queue: ByteQueue,
  onUpgrade: (tlsSocket: TLSSocket) => ByteQueue,
  options: HandshakeOptions,
): Promise<{ socket: Socket; rest: Buffer; negotiated: NegotiatedExport }> {
  const greeting = await queue.readExact(18);
  if (greeting.readBigUInt64BE(0) !== NBDMAGIC) throw new NbdError('NBD_HANDSHAKE', 'not an NBD server (bad magic)');
  if (greeting.readBigUInt64BE(8) !== IHAVEOPT) {
    throw new NbdError('NBD_HANDSHAKE', 'the server speaks the old-style handshake, which this client does not support');
  }
  const serverFlags = greeting.readUInt16BE(16);
  if (!(serverFlags & FLAG_FIXED_NEWSTYLE)) throw new NbdError('NBD_HANDSHAKE', 'the server lacks fixed newstyle negotiation');
  const clientFlags = Buffer.alloc(4);
  clientFlags.writeUInt32BE(FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES));
  socket.write(clientFlags);

  const n = new Negotiator(queue, socket);
  let current: Socket = socket;
  if (options.tls) {
    n.send(OPT.STARTTLS);
    const r = await n.reply(OPT.STARTTLS);
    if (r.type !== REP.ACK) throw new NbdError('NBD_TLS', `the NBD server refused STARTTLS: ${REP_ERR_NAMES[r.type] ?? r.type}`);
    const tlsSocket = tlsConnect({ ...options.tls, socket });
    queue = onUpgrade(tlsSocket);
    await new Promise<void>((resolve, reject) => {
      tlsSocket.once('secureConnect', resolve);
      tlsSocket.once('error', (e) => reject(new NbdError('NBD_TLS', `TLS handshake with the NBD server failed: ${e.message}`, { cause: e })));
    });
    n.rebind(queue, tlsSocket);
    current = tlsSocket;
  }

  n.send(OPT.STRUCTURED_REPLY);
  const sr = await n.reply(OPT.STRUCTURED_REPLY);
  if (REP_ERR_NAMES[sr.type] === 'TLS_REQD') throw replyError('structured replies', sr);
  const structuredReplies = sr.type === REP.ACK;

  const contexts = new Map<string, number>();
  if (options.metaContexts.length > 0) {
    if (!structuredReplies) throw new NbdError('NBD_META_CONTEXT', 'the server has no structured replies, so no block status');
    const parts = [nameBuffer(options.exportName), Buffer.alloc(4)];
    parts[1]!.writeUInt32BE(options.metaContexts.length);
    for (const c of options.metaContexts) parts.push(nameBuffer(c));
    n.send(OPT.SET_META_CONTEXT, Buffer.concat(parts));
    for (;;) {
      const r = await n.reply(OPT.SET_META_CONTEXT);
      if (r.type === REP.ACK) break;
      if (r.type === REP.META_CONTEXT) contexts.set(r.data.subarray(4).toString('utf8'), r.data.readUInt32BE(0));
      else throw replyError(`meta contexts on export "${options.exportName}"`, r);
    }
    const missing = options.metaContexts.filter((c) => !contexts.has(c));
    if (missing.length > 0) {
      throw new NbdError('NBD_META_CONTEXT', `export "${options.exportName}" has no meta context ${missing.join(', ')}`);
    }
  }

  const info = Buffer.alloc(4);
  info.writeUInt16BE(1, 0);
  info.writeUInt16BE(INFO.BLOCK_SIZE, 2);
  n.send(OPT.GO, Buffer.concat([nameBuffer(options.exportName), info]));
  const negotiated: NegotiatedExport = {
    size: -1,
    transmissionFlags: 0,
    contexts,
    structuredReplies,
    minBlockSize: 1,
    preferredBlockSize: 4096,
    maxPayload: DEFAULT_MAX_PAYLOAD,
    maxBlockSize: 0xffffffff,
  };
  for (;;) {
    const r = await n.reply(OPT.GO);
    if (r.type === REP.ACK) break;
    if (r.type !== REP.INFO) throw replyError(`export "${options.exportName}"`, r);
    const kind = r.data.readUInt16BE(0);
    if (kind === INFO.EXPORT) {
      negotiated.size = Number(r.data.readBigUInt64BE(2));
      negotiated.transmissionFlags = r.data.readUInt16BE(10);
    } else if (kind === INFO.BLOCK_SIZE) {
      negotiated.minBlockSize = r.data.readUInt32BE(2);
      negotiated.preferredBlockSize = r.data.readUInt32BE(6);
      negotiated.maxBlockSize = r.data.readUInt32BE(10);
      negotiated.maxPayload = Math.min(negotiated.maxBlockSize, DEFAULT_MAX_PAYLOAD);
    }
  }
  if (negotiated.size < 0) throw new NbdError('NBD_HANDSHAKE', 'the server did not announce the export size');
  return { socket: current, rest: queue.drain(), negotiated };
}
