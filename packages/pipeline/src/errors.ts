import { CodedError } from '@strongbox/core';
export type PipelineErrorCode = 'CANCELLED' | 'PARENT_REQUIRED' | 'SOURCE_READ' | 'SOURCE_RANGE' | 'TARGET' | 'CHUNK_BAD' | 'BAD_ARGUMENT';

export class PipelineError extends CodedError<PipelineErrorCode> {}

export const cancelled = (what: string): PipelineError => new PipelineError('CANCELLED', `${what} was cancelled`);
