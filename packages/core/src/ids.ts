/** Branded identifiers: a `VmId` cannot be passed where a `RepositoryId` is expected. */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type UserId = Brand<string, 'UserId'>;
export type VmId = Brand<string, 'VmId'>;
export type RepositoryId = Brand<string, 'RepositoryId'>;
export type MoverId = Brand<string, 'MoverId'>;
export type JobId = Brand<string, 'JobId'>;
export type SessionId = Brand<string, 'SessionId'>;
export type TaskId = Brand<string, 'TaskId'>;
