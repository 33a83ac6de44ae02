import { PrismaPg } from '@prisma/adapter-pg';
import { env } from '@strongbox/config';
import { AppError } from './errors.js';
import { PrismaClient, type Prisma } from './generated/client.js';

export type Db = PrismaClient | Prisma.TransactionClient;

export function createPrismaClient(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
}

// One client per process; Next.js dev reloads modules, so keep it on globalThis.
const holder = globalThis as unknown as { __strongboxPrisma?: PrismaClient };

export function prisma(): PrismaClient {
  holder.__strongboxPrisma ??= createPrismaClient(env().DATABASE_URL);
  return holder.__strongboxPrisma;
}

/** Long enough for a scheduler round or a run's close; a transaction is never held across I/O of another system. */
const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 30_000 };

/** One named transaction helper: the name shows up in database errors (a domain error keeps its message, which is meant for the caller). */
export async function transaction<T>(name: string, fn: (tx: Prisma.TransactionClient) => Promise<T>, client: PrismaClient = prisma()): Promise<T> {
  try {
    return await client.$transaction(fn, TRANSACTION_OPTIONS);
  } catch (error) {
    if (error instanceof Error && !(error instanceof AppError)) error.message = `[transaction ${name}] ${error.message}`;
    throw error;
  }
}

/** `fn` in a transaction of its own, or in the caller's when `db` already is one. */
export function inTransaction<T>(db: Db, name: string, fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
  return isClient(db) ? transaction(name, fn, db) : fn(db);
}

/** The client itself, not a transaction of it (a transaction client has `$transaction` too, but no `$disconnect`). */
export const isClient = (db: Db): db is PrismaClient => '$disconnect' in db;
