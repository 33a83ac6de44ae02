/**
 * Constants of the NBD protocol (NetworkBlockDevice doc/proto.md), only those this
 * package speaks: fixed newstyle handshake, structured replies, meta contexts, and the
 * transmission commands of a client that reads and writes and of a read-only server.
 */
export const NBDMAGIC = 0x4e42444d41474943n;
export const IHAVEOPT = 0x49484156454f5054n;
export const OPTION_REPLY_MAGIC = 0x0003e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;
export const STRUCTURED_REPLY_MAGIC = 0x668e33ef;

export const FLAG_FIXED_NEWSTYLE = 1 << 0;
export const FLAG_NO_ZEROES = 1 << 1;

export const OPT = {
  EXPORT_NAME: 1,
  ABORT: 2,
  LIST: 3,
  STARTTLS: 5,
  INFO: 6,
  GO: 7,
  STRUCTURED_REPLY: 8,
  LIST_META_CONTEXT: 9,
  SET_META_CONTEXT: 10,
} as const;

export const REP = {
  ACK: 1,
  SERVER: 2,
  INFO: 3,
  META_CONTEXT: 4,
} as const;
export const REP_FLAG_ERROR = 2 ** 31;
export const REP_ERR = {
  UNSUP: REP_FLAG_ERROR + 1,
  POLICY: REP_FLAG_ERROR + 2,
  INVALID: REP_FLAG_ERROR + 3,
  UNKNOWN: REP_FLAG_ERROR + 6,
  SHUTDOWN: REP_FLAG_ERROR + 7,
  TOO_BIG: REP_FLAG_ERROR + 9,
} as const;
export const REP_ERR_NAMES: Record<number, string> = {
  [REP_FLAG_ERROR + 1]: 'UNSUP',
  [REP_FLAG_ERROR + 2]: 'POLICY',
  [REP_FLAG_ERROR + 3]: 'INVALID',
  [REP_FLAG_ERROR + 4]: 'PLATFORM',
  [REP_FLAG_ERROR + 5]: 'TLS_REQD',
  [REP_FLAG_ERROR + 6]: 'UNKNOWN',
  [REP_FLAG_ERROR + 7]: 'SHUTDOWN',
  [REP_FLAG_ERROR + 8]: 'BLOCK_SIZE_REQD',
  [REP_FLAG_ERROR + 9]: 'TOO_BIG',
};

export const INFO = { EXPORT: 0, NAME: 1, DESCRIPTION: 2, BLOCK_SIZE: 3 } as const;

export const TRANSMISSION_FLAGS = {
  HAS_FLAGS: 1 << 0,
  READ_ONLY: 1 << 1,
  SEND_FLUSH: 1 << 2,
  SEND_FUA: 1 << 3,
  SEND_TRIM: 1 << 5,
  SEND_WRITE_ZEROES: 1 << 6,
  SEND_DF: 1 << 7,
  CAN_MULTI_CONN: 1 << 8,
} as const;

export const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, CACHE: 5, WRITE_ZEROES: 6, BLOCK_STATUS: 7 } as const;

/** Command flags (proto.md "Command flags"). */
export const CMD_FLAG = { FUA: 1 << 0, NO_HOLE: 1 << 1, DF: 1 << 2, REQ_ONE: 1 << 3, FAST_ZERO: 1 << 4 } as const;

export const REPLY_FLAG_DONE = 1 << 0;
export const REPLY_TYPE = {
  NONE: 0,
  OFFSET_DATA: 1,
  OFFSET_HOLE: 2,
  BLOCK_STATUS: 5,
  ERROR: (1 << 15) + 1,
  ERROR_OFFSET: (1 << 15) + 2,
} as const;

/** `base:allocation` flags. */
export const STATE_HOLE = 1 << 0;
export const STATE_ZERO = 1 << 1;
/** `qemu:dirty-bitmap:*` flag: the range changed since the bitmap was created. */
export const STATE_DIRTY = 1 << 0;

export const BASE_ALLOCATION = 'base:allocation';

/** Errno values a server may return (proto.md "Error values"). */
export const ERRNO = { EPERM: 1, EIO: 5, ENOMEM: 12, EINVAL: 22, ENOSPC: 28, EOVERFLOW: 75, ENOTSUP: 95, ESHUTDOWN: 108 } as const;

export const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM',
  5: 'EIO',
  12: 'ENOMEM',
  22: 'EINVAL',
  28: 'ENOSPC',
  75: 'EOVERFLOW',
  95: 'ENOTSUP',
  108: 'ESHUTDOWN',
};

/** Largest payload a server must accept when it announces no block size (proto.md). */
export const DEFAULT_MAX_PAYLOAD = 32 * 1024 * 1024;
