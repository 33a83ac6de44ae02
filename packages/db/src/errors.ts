import { CodedError } from '@strongbox/core';

export type ErrorCode = 'BAD_REQUEST' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_FOUND' | 'CONFLICT' | 'RATE_LIMITED' | 'UNAVAILABLE' | 'INTERNAL';

/** A domain error with a code the API maps to an HTTP status, and a message for the caller. */
export class AppError extends CodedError<ErrorCode> {
  constructor(
    code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(code, message);
  }
}

/** Prisma's unique-constraint violation, as thrown through the pg adapter. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'P2002';
}
