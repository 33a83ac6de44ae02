import type { Db } from './client.js';
import { AppError } from './errors.js';
import type { Prisma } from './generated/client.js';

/** Key → JSON value rows with optimistic concurrency (house style 9). */
export class SettingRepository {
  constructor(private readonly db: Db) {}

  async get<T>(key: string): Promise<{ value: T; version: number } | null> {
    const row = await this.db.setting.findUnique({ where: { key } });
    return row ? { value: row.value as T, version: row.version } : null;
  }

  /** `version` is what the editor saw: 0 for a setting that did not exist yet. */
  async save(key: string, value: Prisma.InputJsonValue, version: number): Promise<number> {
    if (version === 0) {
      const created = await this.db.setting.createMany({ data: [{ key, value }], skipDuplicates: true });
      if (created.count === 1) return 1;
    } else {
      const updated = await this.db.setting.updateMany({ where: { key, version }, data: { value, version: { increment: 1 } } });
      if (updated.count === 1) return version + 1;
    }
    throw new AppError('CONFLICT', 'the settings were changed by someone else; reload and try again');
  }
}

/** Global processing mode of the resource scheduler (Veeam's parallel processing switch). */
export const PROCESSING_SETTING_KEY = 'processing';
export type ProcessingSetting = { mode: 'parallel' | 'sequential' };
