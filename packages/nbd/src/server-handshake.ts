import type { Socket } from 'node:net';
import type { ByteQueue } from './byte-queue.js';
import { NbdError } from './errors.js';
import {
  BASE_ALLOCATION,
  DEFAULT_MAX_PAYLOAD,
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  IHAVEOPT,
  INFO,
  NBDMAGIC,
  OPT,
  OPTION_REPLY_MAGIC,
  REP,
  REP_ERR,
  TRANSMISSION_FLAGS,
} from './protocol.js';
import type { ExportSource } from './server.js';

/** What the handshake settled for the transmission phase. */
export type ServerNegotiated = {
  exportName: string;
  source: ExportSource;
  structuredReplies: boolean;
  /** The id of `base:allocation` on this connection, or null when the client selected no context for this export. */
  allocationContext: number | null;
  transmissionFlags: number;
  /** Bytes the client sent past the end of the handshake (its first requests). */
  rest: Buffer;
};

export type ExportDirectory = {
  find(name: string): ExportSource | undefined;
  /** Every export's name, or null when the exports cannot be listed (a lookup function). */
  names(): string[] | null;
};

/** Export names and meta context queries are strings of at most 4096 bytes (proto.md "Conventions"); this bounds a whole option with room to spare. */
const MAX_OPTION_BYTES = 64 * 1024;
/** Our id for `base:allocation`; ids are opaque to clients (proto.md "NBD_OPT_SET_META_CONTEXT"). */
const ALLOCATION_CONTEXT_ID = 1;
/** Client flags (proto.md "Client flags"): the bit values match the server's handshake flags. */
const KNOWN_CLIENT_FLAGS = FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES;
/** proto.md "Size constraints": a minimum of 1 (we serve any alignment) and the 32 MiB every client may assume. */
const MIN_BLOCK = 1;
const MAX_PAYLOAD = DEFAULT_MAX_PAYLOAD;
const FALLBACK_PREFERRED_BLOCK = 64 * 1024;

/** The preferred block size must be a power of 2, at least 512 and at most the maximum payload (proto.md "Size constraints"). */
export function preferredBlockSize(source: ExportSource): number {
  const b = source.blockSize;
  if (b === undefined || !Number.isSafeInteger(b) || b < 512 || b > MAX_PAYLOAD || (b & (b - 1)) !== 0) return FALLBACK_PREFERRED_BLOCK;
  return b;
}

/** A read-only export that needs no flush (reads only) and shares nothing per connection, so several may serve one client. */
function transmissionFlags(structuredReplies: boolean): number {
  const f = TRANSMISSION_FLAGS;
  // proto.md "Transmission flags": SEND_DF MUST stay clear unless structured replies were negotiated.
  return f.HAS_FLAGS | f.READ_ONLY | f.SEND_FLUSH | f.CAN_MULTI_CONN | (structuredReplies ? f.SEND_DF : 0);
}

/** Thrown to reject one option with an error reply; the haggling goes on. */
class OptionRefused extends Error {
  constructor(
    readonly replyType: number,
    message: string,
  ) {
    super(message);
  }
}

/** A reader over an option's data that refuses to run past its end (a length that does not add up is NBD_REP_ERR_INVALID). */
class OptionData {
  private at = 0;
  constructor(private readonly data: Buffer) {}
  u16(): number {
    this.need(2);
    return this.data.readUInt16BE((this.at += 2) - 2);
  }
  u32(): number {
    this.need(4);
    return this.data.readUInt32BE((this.at += 4) - 4);
  }
  string(length: number): string {
    this.need(length);
    return this.data.toString('utf8', this.at, (this.at += length));
  }
  end(): void {
    if (this.at !== this.data.length) throw new OptionRefused(REP_ERR.INVALID, `${this.data.length - this.at} bytes too many in the option`);
  }
  private need(n: number): void {
    if (this.at + n > this.data.length) throw new OptionRefused(REP_ERR.INVALID, 'the option data is shorter than its fields say');
  }
}

/**
 * The server's side of the fixed newstyle handshake (proto.md "Fixed newstyle
 * negotiation", "Option types"). Returns what transmission needs, or null when the client
 * ended the haggling with NBD_OPT_ABORT. Throws on a client that breaks a MUST: the caller
 * then drops the connection ("hard disconnect"), as it does for an NBD_OPT_EXPORT_NAME of
 * an export we do not have, which has no way to carry an error.
 */
export async function negotiateServer(socket: Socket, queue: ByteQueue, exports: ExportDirectory): Promise<ServerNegotiated | null> {
  const greeting = Buffer.alloc(18);
  greeting.writeBigUInt64BE(NBDMAGIC, 0);
  greeting.writeBigUInt64BE(IHAVEOPT, 8);
  greeting.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16);
  socket.write(greeting);

  const clientFlags = (await queue.readExact(4)).readUInt32BE(0);
  // proto.md "Client flags": the server MUST drop the connection on a flag it does not know.
  if (clientFlags & ~KNOWN_CLIENT_FLAGS) throw new NbdError('NBD_HANDSHAKE', `the client sent unknown handshake flags 0x${clientFlags.toString(16)}`);
  const noZeroes = (clientFlags & FLAG_NO_ZEROES) !== 0;

  let structuredReplies = false;
  // The last NBD_OPT_SET_META_CONTEXT: for which export, and whether it selected base:allocation.
  let meta: { exportName: string; allocation: boolean } | null = null;

  const reply = (option: number, type: number, data: Buffer = Buffer.alloc(0)) => {
    const head = Buffer.allocUnsafe(20);
    head.writeBigUInt64BE(OPTION_REPLY_MAGIC, 0);
    head.writeUInt32BE(option, 8);
    head.writeUInt32BE(type, 12);
    head.writeUInt32BE(data.length, 16);
    socket.write(data.length > 0 ? Buffer.concat([head, data]) : head);
  };
  const find = (name: string): ExportSource => {
    const source = exports.find(name);
    if (!source) throw new OptionRefused(REP_ERR.UNKNOWN, `no export named "${name}"`);
    return source;
  };

  for (;;) {
    const head = await queue.readExact(16);
    if (head.readBigUInt64BE(0) !== IHAVEOPT) throw new NbdError('NBD_HANDSHAKE', 'the client sent an option without the IHAVEOPT magic');
    const option = head.readUInt32BE(8);
    const length = head.readUInt32BE(12);
    // proto.md "Termination of the session during option haggling": a server MAY hard-disconnect a client whose behaviour is a denial of service.
    if (length > MAX_OPTION_BYTES) throw new NbdError('NBD_HANDSHAKE', `the client sent option ${option} with ${length} bytes of data`);
    const data = length > 0 ? await queue.readExact(length) : Buffer.alloc(0);

    if (option === OPT.EXPORT_NAME) {
      const name = data.toString('utf8');
      const source = exports.find(name);
      if (!source) throw new NbdError('NBD_EXPORT', `the client asked for export "${name}" (NBD_OPT_EXPORT_NAME), which this server does not have`);
      const flags = transmissionFlags(structuredReplies);
      const answer = Buffer.alloc(noZeroes ? 10 : 134);
      answer.writeBigUInt64BE(BigInt(source.size), 0);
      answer.writeUInt16BE(flags, 8);
      socket.write(answer);
      const allocationContext = meta?.exportName === name && meta.allocation ? ALLOCATION_CONTEXT_ID : null;
      return { exportName: name, source, structuredReplies, allocationContext, transmissionFlags: flags, rest: queue.drain() };
    }
    if (option === OPT.ABORT) {
      // proto.md "NBD_OPT_ABORT": reply ACK (and ignore any data); the client then drops the connection.
      reply(option, REP.ACK);
      return null;
    }

    try {
      switch (option) {
        case OPT.LIST: {
          if (data.length > 0) throw new OptionRefused(REP_ERR.INVALID, 'NBD_OPT_LIST takes no data');
          const names = exports.names();
          if (!names) throw new OptionRefused(REP_ERR.POLICY, 'this server does not list its exports');
          for (const name of names) {
            const bytes = Buffer.from(name, 'utf8');
            const entry = Buffer.allocUnsafe(4 + bytes.length);
            entry.writeUInt32BE(bytes.length, 0);
            bytes.copy(entry, 4);
            reply(option, REP.SERVER, entry);
          }
          reply(option, REP.ACK);
          break;
        }
        case OPT.STRUCTURED_REPLY:
          if (data.length > 0) throw new OptionRefused(REP_ERR.INVALID, 'NBD_OPT_STRUCTURED_REPLY takes no data');
          // proto.md "Fixed newstyle negotiation": a repeated state-changing option MAY be failed with INVALID.
          if (structuredReplies) throw new OptionRefused(REP_ERR.INVALID, 'structured replies are already negotiated');
          structuredReplies = true;
          reply(option, REP.ACK);
          break;
        case OPT.INFO:
        case OPT.GO: {
          // proto.md "NBD_OPT_INFO and NBD_OPT_GO": name length, name, count of info requests, the requests.
          const r = new OptionData(data);
          const name = r.string(r.u32());
          const requests = r.u16();
          for (let i = 0; i < requests; i++) r.u16();
          r.end();
          const source = find(name);
          const flags = transmissionFlags(structuredReplies);
          const exportInfo = Buffer.allocUnsafe(12);
          exportInfo.writeUInt16BE(INFO.EXPORT, 0);
          exportInfo.writeBigUInt64BE(BigInt(source.size), 2);
          exportInfo.writeUInt16BE(flags, 10);
          reply(option, REP.INFO, exportInfo);
          // Sent unasked too (the server MAY): our minimum and maximum are the defaults, so a client that ignores it breaks nothing.
          const sizes = Buffer.allocUnsafe(14);
          sizes.writeUInt16BE(INFO.BLOCK_SIZE, 0);
          sizes.writeUInt32BE(MIN_BLOCK, 2);
          sizes.writeUInt32BE(preferredBlockSize(source), 6);
          sizes.writeUInt32BE(MAX_PAYLOAD, 10);
          reply(option, REP.INFO, sizes);
          reply(option, REP.ACK);
          if (option === OPT.GO) {
            // proto.md "Metadata querying": contexts count only if set for the export that is finally chosen.
            const allocationContext = meta?.exportName === name && meta.allocation ? ALLOCATION_CONTEXT_ID : null;
            return { exportName: name, source, structuredReplies, allocationContext, transmissionFlags: flags, rest: queue.drain() };
          }
          break;
        }
        case OPT.LIST_META_CONTEXT:
        case OPT.SET_META_CONTEXT: {
          const set = option === OPT.SET_META_CONTEXT;
          // proto.md "NBD_OPT_SET_META_CONTEXT": the command replaces the selection, even when it fails.
          if (set) meta = null;
          if (!structuredReplies) throw new OptionRefused(REP_ERR.INVALID, 'meta contexts need structured replies first');
          const r = new OptionData(data);
          const name = r.string(r.u32());
          const count = r.u32();
          const queries: string[] = [];
          for (let i = 0; i < count; i++) queries.push(r.string(r.u32()));
          r.end();
          find(name);
          // The one context we offer. LIST: no query lists everything, and "base:" is the namespace's wildcard
          // (proto.md "The base: metadata namespace"); SET: only the exact name selects it. Other queries are ignored.
          const allocation = set ? queries.includes(BASE_ALLOCATION) : count === 0 || queries.some((q) => q === BASE_ALLOCATION || q === 'base:');
          if (allocation) {
            const contextName = Buffer.from(BASE_ALLOCATION, 'utf8');
            const entry = Buffer.allocUnsafe(4 + contextName.length);
            // LIST replies carry id 0, which clients MUST disregard.
            entry.writeUInt32BE(set ? ALLOCATION_CONTEXT_ID : 0, 0);
            contextName.copy(entry, 4);
            reply(option, REP.META_CONTEXT, entry);
          }
          if (set) meta = { exportName: name, allocation };
          reply(option, REP.ACK);
          break;
        }
        default:
          // STARTTLS among them: proto.md "NOTLS mode" allows NBD_REP_ERR_UNSUP.
          throw new OptionRefused(REP_ERR.UNSUP, `option ${option} is not supported by this server`);
      }
    } catch (e) {
      if (!(e instanceof OptionRefused)) throw e;
      reply(option, e.replyType, Buffer.from(e.message, 'utf8'));
    }
  }
}
