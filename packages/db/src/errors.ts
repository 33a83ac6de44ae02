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

/**
 * An error that says the database was away, not that the statement was wrong: a server
 * restarting or refusing connections for a while, a connection dropped under a query.
 * PostgreSQL's connection-exception class (08), admin shutdown and "cannot connect now"
 * (57P01–57P03), "not accepting connections" (55000), and Prisma's own codes for an
 * unreachable server, a closed connection and a pool timeout.
 */
export function isTransientDbError(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e: unknown = error; e && typeof e === 'object' && !seen.has(e);) {
    seen.add(e);
    const o = e as { code?: unknown; originalCode?: unknown; meta?: { driverAdapterError?: { cause?: unknown } }; cause?: unknown };
    for (const code of [o.code, o.originalCode]) {
      if (typeof code !== 'string') continue;
      if (
        ['P1001', 'P1002', 'P1017', 'P2024', '55000', '57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(code) ||
        code.startsWith('08')
      )
        return true;
    }
    e = o.meta?.driverAdapterError?.cause ?? o.cause;
  }
  return /Connection terminated|connection (is )?closed|terminating connection|ECONNREFUSED/i.test(error instanceof Error ? error.message : '');
}

/**
 * Runs `fn` again while the database is away, with a growing pause, for up to `forMs`:
 * a mover in the middle of a backup must not fail the VM because PostgreSQL restarted.
 * Any other error, or one still transient past `forMs`, is thrown.
 */
export async function whileDbAway<T>(fn: () => Promise<T>, forMs = 120_000): Promise<T> {
  const until = Date.now() + forMs;
  for (let pause = 250; ; pause = Math.min(pause * 2, 5_000)) {
    try {
      return await fn();
    } catch (error) {
      if (!isTransientDbError(error) || Date.now() + pause > until) throw error;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}
