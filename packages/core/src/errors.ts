/**
 * The one base of Strongbox's errors: a code a caller can branch on (and the API maps to a
 * status) and a message a person can act on. Each package narrows the code to its own set.
 */
export class CodedError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The message of anything thrown, for a log line or a task's error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
