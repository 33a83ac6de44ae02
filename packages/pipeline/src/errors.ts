export type PipelineErrorCode = 'CANCELLED' | 'PARENT_REQUIRED' | 'SOURCE_READ' | 'SOURCE_RANGE' | 'TARGET' | 'CHUNK_BAD' | 'BAD_ARGUMENT';

export class PipelineError extends Error {
  constructor(
    readonly code: PipelineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PipelineError';
  }
}

export const cancelled = (what: string): PipelineError => new PipelineError('CANCELLED', `${what} was cancelled`);
