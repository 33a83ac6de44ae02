import { z } from 'zod';
import { parseColumn } from '@strongbox/core';
import type { Db } from './client.js';
import { AppError } from './errors.js';
import type { Prisma } from './generated/client.js';

/** Key → JSON value rows with optimistic concurrency: a save names the version it edited. */
export class Settings {
  constructor(private readonly db: Db) {}

  /** The value parsed with its schema (a value saved before a field was added reads with its default). */
  async get<S extends z.ZodType>(key: string, schema: S): Promise<{ value: z.infer<S>; version: number } | null> {
    const row = await this.db.setting.findUnique({ where: { key } });
    return row ? { value: parseColumn(schema, row.value, `Setting ${key}`) as z.infer<S>, version: row.version } : null;
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
export const processingSettingSchema = z.object({ mode: z.enum(['parallel', 'sequential']) });
export type ProcessingSetting = z.infer<typeof processingSettingSchema>;
