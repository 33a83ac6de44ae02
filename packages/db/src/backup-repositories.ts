import { posix } from 'node:path';
import { parseColumn, pointDisksSchema, verifyResultSchema, type VerifyResult } from '@strongbox/core';
import type { Db } from './client.js';
import { AppError, isUniqueViolation } from './errors.js';
import type { Prisma } from './generated/client.js';

/** One spelling per folder (`/srv/b/`, `/srv//b` and `/srv/b` are one store), so that the unique index on the path means one store. */
export const normalizeRepositoryPath = (path: string) => posix.normalize(path).replace(/(.)\/+$/, '$1');

type Row = Prisma.BackupRepositoryGetPayload<true>;

/** A row with its JSON column parsed. */
const read = (row: Row) => ({ ...row, lastVerifyResult: parseColumn(verifyResultSchema, row.lastVerifyResult, 'BackupRepository.lastVerifyResult') });
export type BackupRepositoryRow = ReturnType<typeof read>;

/** Backup repositories: where each store is, its limits and its health check. */
export class BackupRepositories {
  constructor(private readonly db: Db) {}

  async list(): Promise<BackupRepositoryRow[]> {
    return (await this.db.backupRepository.findMany({ orderBy: { name: 'asc' } })).map(read);
  }

  async byId(id: string): Promise<BackupRepositoryRow | null> {
    const row = await this.db.backupRepository.findUnique({ where: { id } });
    return row ? read(row) : null;
  }

  /** Restore points and the bytes their disks added to the store, per repository. */
  async usage(): Promise<Map<string, { points: number; storedBytes: number }>> {
    const rows = await this.db.restorePoint.findMany({ select: { repositoryId: true, disks: true } });
    const usage = new Map<string, { points: number; storedBytes: number }>();
    for (const row of rows) {
      const u = usage.get(row.repositoryId) ?? { points: 0, storedBytes: 0 };
      u.points++;
      for (const d of parseColumn(pointDisksSchema, row.disks, 'RestorePoint.disks') ?? []) u.storedBytes += d.storedBytes;
      usage.set(row.repositoryId, u);
    }
    return usage;
  }

  /** The path is unique in the database: of two creates at once with one path, one wins and the other is told which field. */
  async create(input: {
    name: string;
    path: string;
    maxConcurrentTasks: number;
    readRateLimit: bigint | null;
    writeRateLimit: bigint | null;
    verifyEveryDays: number;
  }) {
    const path = normalizeRepositoryPath(input.path);
    try {
      return read(await this.db.backupRepository.create({ data: { ...input, path, kind: 'local' } }));
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      if (await this.db.backupRepository.count({ where: { path } })) {
        throw new AppError('BAD_REQUEST', 'another repository already uses this path', { fields: [{ field: 'path', message: 'already a repository' }] });
      }
      throw new AppError('CONFLICT', `a repository named "${input.name}" already exists`, { field: 'name' });
    }
  }

  async update(
    id: string,
    version: number,
    changes: { name?: string; maxConcurrentTasks?: number; readRateLimit?: bigint | null; writeRateLimit?: bigint | null; verifyEveryDays?: number },
  ) {
    const { count } = await this.db.backupRepository.updateMany({ where: { id, version }, data: { ...changes, version: { increment: 1 } } });
    if (count === 0) {
      if (!(await this.db.backupRepository.count({ where: { id } }))) throw new AppError('NOT_FOUND', 'no such repository');
      throw new AppError('CONFLICT', 'the repository was changed by someone else; reload and try again');
    }
    return read(await this.db.backupRepository.findUniqueOrThrow({ where: { id } }));
  }

  /** A health check's outcome, kept on the repository for its list and its next due date. */
  async recordVerify(id: string, at: Date, result: VerifyResult) {
    await this.db.backupRepository.updateMany({ where: { id }, data: { lastVerifiedAt: at, lastVerifyResult: result } });
  }

  /** Only a repository no job writes to and that holds no restore point; its folder stays. */
  async delete(id: string) {
    const row = await this.db.backupRepository.findUnique({
      where: { id },
      select: { isDefault: true, _count: { select: { jobs: true, restorePoints: true } } },
    });
    if (!row) throw new AppError('NOT_FOUND', 'no such repository');
    if (row._count.jobs > 0) throw new AppError('CONFLICT', `${row._count.jobs} job(s) write to this repository`);
    if (row._count.restorePoints > 0) throw new AppError('CONFLICT', `the repository holds ${row._count.restorePoints} restore point(s)`);
    await this.db.backupRepository.delete({ where: { id } });
  }

  /**
   * The backup server is its own default repository (as Veeam's): created once, at the
   * path start-up chose; a later start with the same data keeps it as it is.
   */
  async ensureDefault(path: string) {
    const existing = await this.db.backupRepository.findFirst({ where: { isDefault: true } });
    if (existing) return { repository: read(existing), created: false };
    const repository = await this.db.backupRepository.create({
      data: { name: 'Default Backup Repository', kind: 'local', path: normalizeRepositoryPath(path), isDefault: true },
    });
    return { repository: read(repository), created: true };
  }
}
