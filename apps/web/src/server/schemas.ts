import { z } from 'zod';
import { jobUpdateSchema, ROLES, SESSION_KINDS, sessionIdSchema, type SessionId } from '@strongbox/core';
import { AppError } from '@strongbox/db';
import { MIN_PASSWORD_LENGTH } from '@strongbox/db';
import { smtpSettingsSchema } from '@strongbox/notifications';

export const roleSchema = z.enum(ROLES);

export const createUserBody = z
  .object({
    email: z.email().max(254),
    name: z.string().trim().min(1).max(100),
    role: roleSchema,
    password: z.string().min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`).max(200),
  })
  .strict();

export const updateUserBody = z
  .object({
    version: z.number().int().min(1),
    name: z.string().trim().min(1).max(100).optional(),
    role: roleSchema.optional(),
    disabled: z.boolean().optional(),
    password: z.string().min(MIN_PASSWORD_LENGTH).max(200).optional(),
  })
  .strict();

export const createTokenBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    /** Days until it expires; none = until revoked. */
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict();

export const pageQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  perPage: z.coerce.number().int().min(1).max(200).default(50),
});

export const userDto = z.object({
  id: z.uuid(),
  email: z.email(),
  name: z.string(),
  role: roleSchema,
  disabled: z.boolean(),
  lastLoginAt: z.string().nullable(),
  createdAt: z.string(),
  version: z.number().int(),
});
export type UserDto = z.infer<typeof userDto>;

export const tokenDto = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type TokenDto = z.infer<typeof tokenDto>;

export const healthDto = z.object({
  status: z.enum(['ok', 'degraded']),
  database: z.object({ status: z.enum(['ok', 'error']), error: z.string().optional() }),
  redis: z.object({ status: z.enum(['ok', 'error']), error: z.string().optional() }),
  movers: z.array(
    z.object({
      name: z.string(),
      hostName: z.string(),
      site: z.string(),
      online: z.boolean(),
      lastHeartbeatAt: z.string(),
      maxConcurrentTasks: z.number().int(),
    }),
  ),
});
export type HealthDto = z.infer<typeof healthDto>;

export const errorDto = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

export const updateMoverBody = z
  .object({
    version: z.number().int().min(1),
    maxConcurrentTasks: z.number().int().min(1).max(256).optional(),
    enabled: z.boolean().optional(),
  })
  .strict();

export const moverDto = z.object({
  id: z.uuid(),
  name: z.string(),
  hostName: z.string(),
  site: z.string(),
  cores: z.number().int(),
  maxConcurrentTasks: z.number().int(),
  enabled: z.boolean(),
  online: z.boolean(),
  softwareVersion: z.string(),
  lastHeartbeatAt: z.string(),
  version: z.number().int(),
});
export type MoverDto = z.infer<typeof moverDto>;

/** SMTP settings as saved from the console; `version` 0 when none were saved yet. */
export const smtpBody = smtpSettingsSchema.extend({ version: z.number().int().min(0) });
export const testMailBody = z.object({ to: z.email() }).strict();

/** A job edit names the version the editor loaded (optimistic concurrency). */
export const updateJobBody = jobUpdateSchema;

/** A path id that is not a UUID names no job. */
export const jobId = (value: string) => pathId(value, 'job');

const LIBVIRT_SCHEMES = ['qemu:', 'qemu+ssh:', 'qemu+tcp:', 'qemu+tls:', 'qemu+unix:', 'qemu+libssh2:', 'qemu+libssh:'];

export const createConnectionBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    uri: z
      .string()
      .trim()
      .refine((v) => {
        try {
          return LIBVIRT_SCHEMES.includes(new URL(v).protocol);
        } catch {
          return false; // not a URL at all
        }
      }, 'must be a libvirt URI, e.g. qemu:///system or qemu+ssh://root@host/system'),
    sshKeyPath: z.string().startsWith('/', 'must be an absolute path on the movers').max(1000).optional(),
  })
  .strict();

/** A path id that is not a UUID names nothing. */
export function pathId(value: string, what: string): string {
  const parsed = z.uuid().safeParse(value);
  if (!parsed.success) throw new AppError('NOT_FOUND', `no such ${what}`);
  return parsed.data;
}

/** A session id from a path: branded, so that it cannot be passed where another id is expected. */
export function sessionPathId(value: string): SessionId {
  const parsed = sessionIdSchema.safeParse(value);
  if (!parsed.success) throw new AppError('NOT_FOUND', 'no such session');
  return parsed.data;
}

export const RUN_STATUSES = ['pending', 'running', 'success', 'warning', 'failed', 'cancelled', 'interrupted'] as const;

export const sessionQuery = pageQuery.extend({
  status: z.enum(RUN_STATUSES).optional(),
  jobId: z.uuid().optional(),
  kind: z.enum(SESSION_KINDS).optional(),
});

const MiB = 1024 * 1024;

/** A repository as an administrator edits it; rate limits in MiB/s (null: unlimited). */
const repositoryFields = {
  name: z.string().trim().min(1).max(100),
  maxConcurrentTasks: z.number().int().min(1).max(256),
  readRateLimitMiBs: z.number().int().min(1).max(100_000).nullable(),
  writeRateLimitMiBs: z.number().int().min(1).max(100_000).nullable(),
  verifyEveryDays: z.number().int().min(0).max(365),
};
export const repositoryBody = z
  .object({
    ...repositoryFields,
    path: z.string().trim().startsWith('/', 'must be an absolute path on the movers').max(1000),
    maxConcurrentTasks: repositoryFields.maxConcurrentTasks.default(4),
    readRateLimitMiBs: repositoryFields.readRateLimitMiBs.default(null),
    writeRateLimitMiBs: repositoryFields.writeRateLimitMiBs.default(null),
    verifyEveryDays: repositoryFields.verifyEveryDays.default(7),
  })
  .strict();
/** Only what is sent changes (no defaults here: a missing field is left as it is). */
export const updateRepositoryBody = z
  .object({ ...repositoryFields, version: z.number().int().min(1) })
  .partial()
  .required({ version: true })
  .strict();
export const rateToBytes = (miBs: number | null | undefined) => (miBs === null || miBs === undefined ? null : BigInt(miBs * MiB));

export const processingBody = z.object({ mode: z.enum(['parallel', 'sequential']), version: z.number().int().min(0) }).strict();
