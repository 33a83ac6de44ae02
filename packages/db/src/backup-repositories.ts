import type { Db } from './client.js';
import { AppError, isUniqueViolation } from './errors.js';

export class BackupRepositoryRepository {
  constructor(private readonly db: Db) {}

  list() {
    return this.db.repository.findMany({ orderBy: { name: 'asc' } });
  }

  /** Restore points and the bytes their disks added to the store, per repository. */
  async usage(): Promise<Map<string, { points: number; storedBytes: number }>> {
    const rows = await this.db.restorePoint.findMany({ select: { repositoryId: true, disks: true } });
    const usage = new Map<string, { points: number; storedBytes: number }>();
    for (const row of rows) {
      const u = usage.get(row.repositoryId) ?? { points: 0, storedBytes: 0 };
      u.points++;
      for (const d of (row.disks ?? []) as { storedBytes?: number }[]) u.storedBytes += d.storedBytes ?? 0;
      usage.set(row.repositoryId, u);
    }
    return usage;
  }

  async create(input: {
    name: string;
    path: string;
    maxConcurrentTasks: number;
    readRateLimit: bigint | null;
    writeRateLimit: bigint | null;
    verifyEveryDays: number;
  }) {
    if (await this.db.repository.findFirst({ where: { path: input.path }, select: { id: true } })) {
      throw new AppError('BAD_REQUEST', 'another repository already uses this path', { fields: [{ field: 'path', message: 'already a repository' }] });
    }
    try {
      return await this.db.repository.create({ data: { ...input, kind: 'local' } });
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('CONFLICT', `a repository named "${input.name}" already exists`, { field: 'name' });
      throw error;
    }
  }

  async update(
    id: string,
    version: number,
    changes: { name?: string; maxConcurrentTasks?: number; readRateLimit?: bigint | null; writeRateLimit?: bigint | null; verifyEveryDays?: number },
  ) {
    const { count } = await this.db.repository.updateMany({ where: { id, version }, data: { ...changes, version: { increment: 1 } } });
    if (count === 0) {
      if (!(await this.db.repository.count({ where: { id } }))) throw new AppError('NOT_FOUND', 'no such repository');
      throw new AppError('CONFLICT', 'the repository was changed by someone else; reload and try again');
    }
    return this.db.repository.findUniqueOrThrow({ where: { id } });
  }

  /** Only a repository no job writes to and that holds no restore point; its folder stays. */
  async delete(id: string) {
    const row = await this.db.repository.findUnique({ where: { id }, select: { isDefault: true, _count: { select: { jobs: true, restorePoints: true } } } });
    if (!row) throw new AppError('NOT_FOUND', 'no such repository');
    if (row._count.jobs > 0) throw new AppError('CONFLICT', `${row._count.jobs} job(s) write to this repository`);
    if (row._count.restorePoints > 0) throw new AppError('CONFLICT', `the repository holds ${row._count.restorePoints} restore point(s)`);
    await this.db.repository.delete({ where: { id } });
  }

  /**
   * The backup server is its own default repository (as Veeam's): created once, at the
   * path start-up chose; a later start with the same data keeps it as it is.
   */
  async ensureDefault(path: string) {
    const existing = await this.db.repository.findFirst({ where: { isDefault: true } });
    if (existing) return { repository: existing, created: false };
    const repository = await this.db.repository.create({
      data: { name: 'Default Backup Repository', kind: 'local', path, isDefault: true },
    });
    return { repository, created: true };
  }
}
