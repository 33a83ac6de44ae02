import { CodedError } from '@strongbox/core';
export type NbdErrorCode =
  | 'NBD_CONNECT'
  | 'NBD_HANDSHAKE'
  | 'NBD_TLS_REQUIRED'
  | 'NBD_TLS'
  | 'NBD_EXPORT'
  | 'NBD_META_CONTEXT'
  | 'NBD_PROTOCOL'
  | 'NBD_SERVER_ERROR'
  | 'NBD_CONNECTION_CLOSED'
  | 'NBD_TIMEOUT'
  | 'NBD_RANGE'
  | 'NBD_CLOSED'
  /** A write, zero or trim on an export the server announced as read-only; nothing was sent. */
  | 'NBD_READ_ONLY'
  /** NbdServer: an export's source failed a read or extents call (the client got EIO). */
  | 'NBD_SOURCE'
  /** NbdServer: cannot listen on the socket or port (in use, no permission). */
  | 'NBD_LISTEN';

export class NbdError extends CodedError<NbdErrorCode> {
  /** For NBD_SERVER_ERROR: the server's errno name (EPERM, ENOSPC, EIO, …), so a caller can tell a full target from a refusal. */
  readonly errno: string | undefined;

  constructor(code: NbdErrorCode, message: string, options?: { cause?: unknown; errno?: string }) {
    super(code, message, options);
    this.errno = options?.errno;
  }
}
