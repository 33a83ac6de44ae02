import { z } from 'zod';
import {
  jobObjectSchema,
  jobOptionsSchema,
  jobRetentionSchema,
  jobRetriesSchema,
  jobWindowSchema,
  parseColumn,
  scheduleSchema,
  type JobSpec,
} from '@strongbox/core';
import type { Db } from './client.js';
import { AppError, isUniqueViolation } from './errors.js';
import type { Prisma } from './generated/client.js';

export const jobSelect = {
  id: true,
  name: true,
  description: true,
  enabled: true,
  connectionId: true,
  repositoryId: true,
  timeZone: true,
  objects: true,
  schedule: true,
  options: true,
  retention: true,
  nextRunAt: true,
  version: true,
  createdAt: true,
  updatedAt: true,
} as const;

/** Window and retries live inside the schedule column: they are part of "when". */
function columns(spec: JobSpec) {
  return {
    name: spec.name,
    description: spec.description,
    enabled: spec.enabled,
    connectionId: spec.connectionId,
    repositoryId: spec.repositoryId,
    timeZone: spec.timeZone,
    objects: spec.objects as Prisma.InputJsonValue,
    schedule: { schedule: spec.schedule, window: spec.window, retries: spec.retries } as unknown as Prisma.InputJsonValue,
    options: spec.options as Prisma.InputJsonValue,
    retention: spec.retention as Prisma.InputJsonValue,
    // The controller computes the next start from the definition; any save makes it do so again.
    nextRunAt: null,
  };
}

export type JobRow = Prisma.BackupJobGetPayload<{ select: typeof jobSelect }>;

const storedSchedule = z.object({ schedule: scheduleSchema, window: jobWindowSchema.nullable(), retries: jobRetriesSchema });
const storedObjects = z.array(jobObjectSchema);

/**
 * The definition back from its row, each JSON column parsed with its schema: options added
 * since the job was saved read as their defaults, and a column of another shape is an
 * error here rather than a surprise later.
 */
export function specOf(row: JobRow): JobSpec {
  const when = parseColumn(storedSchedule, row.schedule, 'BackupJob.schedule')!;
  return {
    name: row.name,
    description: row.description,
    enabled: row.enabled,
    connectionId: row.connectionId,
    repositoryId: row.repositoryId,
    timeZone: row.timeZone,
    objects: parseColumn(storedObjects, row.objects, 'BackupJob.objects')!,
    options: parseColumn(jobOptionsSchema, row.options, 'BackupJob.options')!,
    retention: parseColumn(jobRetentionSchema, row.retention, 'BackupJob.retention')!,
    schedule: when.schedule,
    window: when.window,
    retries: when.retries,
  };
}

function conflictOnName(error: unknown, name: string): never {
  if (isUniqueViolation(error)) throw new AppError('CONFLICT', `a job named "${name}" already exists`, { field: 'name' });
  throw error;
}

export class BackupJobs {
  constructor(private readonly db: Db) {}

  async page(page: number, perPage: number) {
    const [rows, total] = await Promise.all([
      this.db.backupJob.findMany({ select: jobSelect, orderBy: { name: 'asc' }, skip: (page - 1) * perPage, take: perPage }),
      this.db.backupJob.count(),
    ]);
    return { rows, total };
  }

  byId(id: string): Promise<JobRow | null> {
    return this.db.backupJob.findUnique({ where: { id }, select: jobSelect });
  }

  async create(spec: JobSpec, createdById: string | null): Promise<JobRow> {
    try {
      return await this.db.backupJob.create({ data: { ...columns(spec), createdById }, select: jobSelect });
    } catch (error) {
      return conflictOnName(error, spec.name);
    }
  }

  /** The second of two editors gets a conflict, never a silent overwrite: the save names the version it edited. */
  async update(id: string, version: number, spec: JobSpec): Promise<JobRow> {
    let count: number;
    try {
      ({ count } = await this.db.backupJob.updateMany({ where: { id, version }, data: { ...columns(spec), version: { increment: 1 } } }));
    } catch (error) {
      return conflictOnName(error, spec.name);
    }
    if (count === 0) {
      if (!(await this.db.backupJob.count({ where: { id } }))) throw new AppError('NOT_FOUND', 'no such job');
      throw new AppError('CONFLICT', 'the job was changed by someone else; reload and try again');
    }
    return (await this.byId(id))!;
  }

  async delete(id: string): Promise<JobRow> {
    const row = await this.byId(id);
    if (!row) throw new AppError('NOT_FOUND', 'no such job');
    await this.db.backupJob.delete({ where: { id } });
    return row;
  }
}
