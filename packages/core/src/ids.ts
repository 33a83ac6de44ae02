import { z } from 'zod';

/**
 * Branded identifiers: a `SessionId` cannot be passed where a `TaskId` is expected. Each is
 * a UUID parsed by its schema where it enters (an API path, a queue payload); rows read
 * from the database are branded by the repository that reads them.
 */
export const userIdSchema = z.uuid().brand<'UserId'>();
export const vmIdSchema = z.uuid().brand<'VmId'>();
export const repositoryIdSchema = z.uuid().brand<'RepositoryId'>();
export const moverIdSchema = z.uuid().brand<'MoverId'>();
export const jobIdSchema = z.uuid().brand<'JobId'>();
export const sessionIdSchema = z.uuid().brand<'SessionId'>();
export const taskIdSchema = z.uuid().brand<'TaskId'>();

export type UserId = z.infer<typeof userIdSchema>;
export type VmId = z.infer<typeof vmIdSchema>;
export type RepositoryId = z.infer<typeof repositoryIdSchema>;
export type MoverId = z.infer<typeof moverIdSchema>;
export type JobId = z.infer<typeof jobIdSchema>;
export type SessionId = z.infer<typeof sessionIdSchema>;
export type TaskId = z.infer<typeof taskIdSchema>;
