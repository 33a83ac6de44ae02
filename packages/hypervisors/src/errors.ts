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
  | 'HV_RESTORE';

export class HypervisorError extends Error {
  constructor(
    readonly code: HypervisorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HypervisorError';
  }
}
