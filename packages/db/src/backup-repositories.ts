import type { Db } from './client.js';

export class BackupRepositoryRepository {
  constructor(private readonly db: Db) {}

  list() {
    return this.db.repository.findMany({ orderBy: { name: 'asc' } });
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
