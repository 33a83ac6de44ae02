import { CodedError, messageOf } from '@strongbox/core';
export type RepositoryErrorCode =
  | 'REPO_EXISTS'
  | 'REPO_NOT_FOUND'
  | 'REPO_CORRUPT'
  | 'REPO_VERSION'
  | 'REPO_NO_SPACE'
  | 'REPO_IO'
  | 'REPO_GC_RUNNING'
  | 'REPO_CHUNK_VANISHED'
  | 'POINT_NOT_FOUND'
  | 'POINT_VERSION'
  | 'POINT_CORRUPT'
  | 'POINT_EXISTS'
  | 'POINT_STATE'
  | 'POINT_PARENT'
  | 'DISK_NOT_FOUND'
  | 'DISK_EXISTS'
  | 'BAD_ARGUMENT'
  | 'CHUNK_BAD'
  | 'CANCELLED';

export class RepositoryError extends CodedError<RepositoryErrorCode> {}

/** Maps a filesystem error to a RepositoryError; ENOSPC/EDQUOT get their own code. */
export function ioError(e: unknown, what: string): RepositoryError {
  if (e instanceof RepositoryError) return e;
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const message = messageOf(e);
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new RepositoryError('REPO_NO_SPACE', `${what}: the repository's filesystem is full (${message})`, { cause: e });
  return new RepositoryError('REPO_IO', `${what}: ${message}`, { cause: e });
}

export const errnoOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | null)?.code;
