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
  | 'NBD_CLOSED';

export class NbdError extends CodedError<NbdErrorCode> {}
