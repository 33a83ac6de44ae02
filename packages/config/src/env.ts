import { isAbsolute, resolve } from 'node:path';
import { hostname } from 'node:os';
import { z } from 'zod';
import { CodedError } from '@strongbox/core';

/**
 * The one place that reads `process.env`, so that every variable has one spelling, one
 * default and one check. Every process parses it at start; a missing or malformed variable
 * stops the process with a line naming it.
 */

const postgresUrl = z.string().refine((v) => urlWithProtocol(v, ['postgres:', 'postgresql:']), {
  message: 'must be a postgresql:// URL, e.g. postgresql://user:password@host:5432/strongbox',
});

const redisUrl = z.string().refine((v) => urlWithProtocol(v, ['redis:', 'rediss:']), {
  message: 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379',
});

const port = z.coerce.number().int().min(1).max(65535);

function urlWithProtocol(value: string, protocols: string[]): boolean {
  try {
    const url = new URL(value);
    return protocols.includes(url.protocol) && url.hostname.length + url.pathname.length > 0;
  } catch {
    // Not parseable as a URL: the refinement reports it with its message.
    return false;
  }
}

/** Where the fault suite may crash a mover: after the VM's view opened, during a read, around the manifest's commit and the catalog's record. */
export const FAILPOINTS = [
  'vm:after-open',
  'vm:mid-read',
  'vm:before-commit',
  'vm:after-commit',
  'vm:after-publish',
  'restore:mid-write',
  'restore:before-define',
  'restore:before-finish',
] as const;
export type Failpoint = (typeof FAILPOINTS)[number];

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  DATABASE_URL: postgresUrl,
  REDIS_URL: redisUrl,
  /** Prefix of every Redis key (BullMQ queues included); tests use one per run. */
  STRONGBOX_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
    .default('strongbox'),
  /** Signs console sessions. At least 32 characters. */
  AUTH_SECRET: z.string().min(32, 'must be at least 32 characters'),
  STRONGBOX_PUBLIC_URL: z.url().default('http://localhost:3000'),
  PORT: port.default(3000),
  STRONGBOX_DATA_DIR: z.string().default('./.data'),
  STRONGBOX_REPOSITORY_PATH: z.string().optional(),
  STRONGBOX_ADMIN_EMAIL: z.email().default('admin@strongbox.local'),
  STRONGBOX_ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  STRONGBOX_MOVER_NAME: z.string().min(1).default(hostname()),
  STRONGBOX_SITE: z.string().min(1).default('default'),
  STRONGBOX_MOVER_MAX_TASKS: z.coerce.number().int().min(1).max(256).optional(),
  /**
   * A mover's scratch space (NBD sockets, job state, restore journals, mounts); default
   * /var/tmp/strongbox-mover. Two movers on one machine (the soak beside the tests) each
   * need their own, or each one's janitor and leftover checks see the other's work.
   */
  STRONGBOX_MOVER_WORK_DIR: z.string().startsWith('/', 'must be an absolute path').optional(),
  /** Where a mover's file service (guest-file browsing) listens: host:port, port 0 picks a free one. */
  STRONGBOX_MOVER_FILES_LISTEN: z
    .string()
    .regex(/^.+:\d+$/, 'must be host:port')
    .default('127.0.0.1:0'),
  /** Where the web reaches that service, when not at the address it listens on (another host, a container). */
  STRONGBOX_MOVER_FILES_URL: z.url().optional(),
  /** A guest-file mount ends after this long without use (30 minutes). */
  STRONGBOX_MOUNT_IDLE_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(30 * 60 * 1000),
  /**
   * The fault suite's failpoint: a mover kills its own process (SIGKILL) when a VM's backup
   * reaches this point, as a crash there would. Unset everywhere but in that suite.
   */
  STRONGBOX_FAILPOINT: z.enum(FAILPOINTS).optional(),
  /** Failed console logins allowed per address and email within the window (ten times that per address). */
  STRONGBOX_LOGIN_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(5),
  STRONGBOX_LOGIN_WINDOW_SECONDS: z.coerce.number().int().min(1).default(900),
});

export type Env = z.infer<typeof envSchema> & {
  /** Absolute paths derived from the variables above. */
  dataDir: string;
  repositoryPath: string;
};

export class EnvError extends CodedError<'ENV_INVALID'> {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super('ENV_INVALID', issues.map((i) => `environment variable ${i.variable} ${describe(i.message)}`).join('; '));
  }
}

function describe(message: string): string {
  if (/^Invalid input: expected \w+, received undefined$/.test(message)) return 'is missing';
  return message.startsWith('must') || message.startsWith('is ') ? message : `is invalid: ${message}`;
}

function toIssues(error: z.ZodError): { variable: string; message: string }[] {
  return error.issues.map((issue) => ({
    variable: String(issue.path[0] ?? '?'),
    message: issue.message,
  }));
}

function derive(parsed: z.infer<typeof envSchema>, cwd: string): Env {
  const dataDir = isAbsolute(parsed.STRONGBOX_DATA_DIR) ? parsed.STRONGBOX_DATA_DIR : resolve(cwd, parsed.STRONGBOX_DATA_DIR);
  const repo = parsed.STRONGBOX_REPOSITORY_PATH;
  const repositoryPath = repo ? (isAbsolute(repo) ? repo : resolve(cwd, repo)) : resolve(dataDir, 'repository');
  return { ...parsed, dataDir, repositoryPath };
}

/** Parses the whole environment; throws EnvError naming each bad variable. */
export function parseEnv(source: Record<string, string | undefined>, cwd = process.cwd()): Env {
  const result = envSchema.safeParse(source);
  if (!result.success) throw new EnvError(toIssues(result.error));
  return derive(result.data, cwd);
}

export type GivenEnv = Partial<z.infer<typeof envSchema>> & { dataDir: string; repositoryPath: string };

/**
 * Checks only the variables that are set (before start-up has provided the services and
 * secrets it provides when none are given); returns them with the derived paths.
 */
export function checkGivenEnv(source: Record<string, string | undefined>, cwd = process.cwd()): GivenEnv {
  const given = Object.fromEntries(Object.entries(source).filter(([key, value]) => key in envSchema.shape && value !== undefined && value !== ''));
  const result = envSchema.partial().safeParse(given);
  if (!result.success) throw new EnvError(toIssues(result.error));
  const paths = derive({ ...result.data, STRONGBOX_DATA_DIR: result.data.STRONGBOX_DATA_DIR ?? './.data' } as z.infer<typeof envSchema>, cwd);
  return { ...result.data, dataDir: paths.dataDir, repositoryPath: paths.repositoryPath };
}

let cached: Env | undefined;

/** The process's environment, parsed once. */
export function env(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}

/** For entry points: parse, or print one line per bad variable and exit. */
export function loadEnvOrExit(): Env {
  try {
    return env();
  } catch (error) {
    if (error instanceof EnvError) {
      for (const issue of error.issues) {
        console.error(`Strongbox: environment variable ${issue.variable} ${describe(issue.message)}`);
      }
      process.exit(1);
    }
    throw error;
  }
}
