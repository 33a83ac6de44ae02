import type { Db } from './client.js';
import { AppError } from './errors.js';

export type MoverRegistration = {
  name: string;
  hostName: string;
  site: string;
  cores: number;
  maxConcurrentTasks: number;
  softwareVersion: string;
};

/**
 * A mover is online while its heartbeat (every 10 s) is younger than this; past it, the
 * controller takes its tasks back, so that a dead mover is noticed within a minute.
 */
export const MOVER_OFFLINE_AFTER_MS = 40_000;

export class Movers {
  constructor(private readonly db: Db) {}

  /** Registers or re-registers a mover by name; an admin's task limit is kept. */
  register(input: MoverRegistration) {
    return this.db.mover.upsert({
      where: { name: input.name },
      create: { ...input, lastHeartbeatAt: new Date() },
      update: {
        hostName: input.hostName,
        site: input.site,
        cores: input.cores,
        softwareVersion: input.softwareVersion,
        lastHeartbeatAt: new Date(),
      },
      select: { id: true, name: true, maxConcurrentTasks: true },
    });
  }

  heartbeat(id: string) {
    return this.db.mover.update({ where: { id }, data: { lastHeartbeatAt: new Date() } });
  }

  /** The stores this mover found at their repositories' paths, as of `at`: maintenance goes only to movers that see the store. */
  seesRepositories(id: string, repositoryIds: readonly string[], at = new Date()) {
    return this.db.mover.update({ where: { id }, data: { repositoryIds: [...repositoryIds], repositoriesSeenAt: at } });
  }

  /** Where the mover's file service answers (null when it has none). */
  async fileServiceAt(id: string, url: string | null): Promise<void> {
    await this.db.mover.update({ where: { id }, data: { fileServiceUrl: url } });
  }

  /** A store this mover just opened (or made, on a first backup) is one it sees, from now on. */
  async seesRepository(id: string, repositoryId: string): Promise<void> {
    await this.db
      .$executeRaw`UPDATE "Mover" SET "repositoryIds" = array_append("repositoryIds", ${repositoryId}::uuid) WHERE id = ${id}::uuid AND NOT (${repositoryId}::uuid = ANY("repositoryIds"))`;
  }

  /** An administrator's change (task limit, enabled); `version` is the one they saw. */
  async update(id: string, version: number, changes: { maxConcurrentTasks?: number; enabled?: boolean }) {
    const result = await this.db.mover.updateMany({ where: { id, version }, data: { ...changes, version: { increment: 1 } } });
    if (result.count === 0) {
      if (!(await this.db.mover.count({ where: { id } }))) throw new AppError('NOT_FOUND', 'no such mover');
      throw new AppError('CONFLICT', 'the mover was changed by someone else; reload and try again');
    }
    const row = await this.db.mover.findUniqueOrThrow({ where: { id } });
    return { ...row, online: Date.now() - row.lastHeartbeatAt.getTime() < MOVER_OFFLINE_AFTER_MS };
  }

  async list(now = new Date()) {
    const rows = await this.db.mover.findMany({ orderBy: { name: 'asc' } });
    return rows.map((row) => ({
      ...row,
      online: now.getTime() - row.lastHeartbeatAt.getTime() < MOVER_OFFLINE_AFTER_MS,
    }));
  }
}
