import { CodedError } from '@strongbox/core';
export type HypervisorErrorCode =
  | 'HV_UNREACHABLE'
  | 'HV_VM_NOT_FOUND'
  | 'HV_COMMAND'
  | 'HV_BAD_XML'
  | 'HV_BUSY'
  | 'HV_QUIESCE_FAILED'
  | 'HV_UNSUPPORTED'
  | 'HV_EXPORT'
  | 'HV_CANCELLED'
  | 'HV_RESTORE'
  /** A name (VM, volume, file, disk target) is taken. */
  | 'HV_EXISTS'
  /** The storage has less space available than the restore needs. */
  | 'HV_NO_SPACE';

export class HypervisorError extends CodedError<HypervisorErrorCode> {}
