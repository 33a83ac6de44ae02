import { useCallback, useState } from 'react';
import { ApiError, type ApiErrorDetails, type FieldError } from './api-client';
import { messageOf } from '@strongbox/core';

/** A failed change as the console shows it: one line of text, and what a caller may act on. */
export type MutationError = {
  text: string;
  /** HTTP status, or null when the request never got an answer. */
  status: number | null;
  /** 409: someone changed the thing first (or a run is under way); callers offer a reload. */
  conflict: boolean;
  fields: FieldError[];
  details: ApiErrorDetails;
};

export type MutationResult<T> = { ok: true; value: T } | { ok: false; error: MutationError };

/** Every panel words a failure the same way: the invalid fields of a 400 as "field: message; …", else the message. */
export function toMutationError(e: unknown): MutationError {
  if (!(e instanceof ApiError)) return { text: messageOf(e), status: null, conflict: false, fields: [], details: {} };
  const fields = e.details?.fields ?? [];
  return {
    text: fields.length > 0 ? fields.map((f) => `${f.field}: ${f.message}`).join('; ') : e.message,
    status: e.status,
    conflict: e.status === 409,
    fields,
    details: e.details ?? {},
  };
}

export type MutationOptions = {
  /**
   * Runs after a failure with its error, typically to read the stored state again (a 409
   * means the panel showed a stale copy). Its own failure is not shown: the action's error
   * is the one the user needs to see.
   */
  onError?: (error: MutationError) => unknown;
};

/**
 * Runs changes against the API for a client panel: `busy` while any is in flight, `error`
 * from the last one that failed (cleared when the next starts). `run` never throws; it
 * answers what happened, so that callers follow up on success (navigate, show "Saved.").
 */
export function useMutation() {
  const [pending, setPending] = useState(0);
  const [error, setError] = useState<MutationError | null>(null);

  const run = useCallback(async <T>(action: () => Promise<T>, options: MutationOptions = {}): Promise<MutationResult<T>> => {
    setError(null);
    setPending((n) => n + 1);
    try {
      return { ok: true, value: await action() };
    } catch (e) {
      const failure = toMutationError(e);
      setError(failure);
      try {
        await options.onError?.(failure);
      } catch {
        // Deliberately quiet: see MutationOptions.onError.
      }
      return { ok: false, error: failure };
    } finally {
      setPending((n) => n - 1);
    }
  }, []);

  return { run, busy: pending > 0, error, conflict: error?.conflict ?? false };
}
