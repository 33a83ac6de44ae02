import { PrismaPg } from '@prisma/adapter-pg';
import { env } from '@strongbox/config';
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

/** One named transaction helper (house style 3): the name shows up in errors. */
export async function transaction<T>(name: string, fn: (tx: Prisma.TransactionClient) => Promise<T>, client: PrismaClient = prisma()): Promise<T> {
  try {
    return await client.$transaction(fn);
  } catch (error) {
    if (error instanceof Error) error.message = `[transaction ${name}] ${error.message}`;
    throw error;
  }
}
