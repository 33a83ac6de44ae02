import { parseColumn, pointDisksSchema } from '@strongbox/core';
import type { Db } from './client.js';
import type { Prisma } from './generated/client.js';

const pointSelect = {
  id: true,
  vmId: true,
  vmName: true,
  jobId: true,
  sessionId: true,
  time: true,
  kind: true,
  path: true,
  disks: true,
  repository: { select: { id: true, name: true } },
  job: { select: { name: true } },
} as const;

type PointRow = Prisma.RestorePointGetPayload<{ select: typeof pointSelect }>;

/** A catalog row with its disks parsed. */
const read = (row: PointRow) => ({ ...row, disks: parseColumn(pointDisksSchema, row.disks, 'RestorePoint.disks') ?? [] });
export type CatalogPoint = ReturnType<typeof read>;

export type PointFilter = { vmId?: string | undefined; jobId?: string | undefined; repositoryId?: string | undefined };

/**
 * The restore-point catalog as the console and the API read it. Its rows are written and
 * removed by the run module (a point published, a point retention removed).
 */
export class RestorePoints {
  constructor(private readonly db: Db) {}

  async page(filter: PointFilter, page: number, perPage: number) {
    const where: Prisma.RestorePointWhereInput = {
      ...(filter.vmId ? { vmId: filter.vmId } : {}),
      ...(filter.jobId ? { jobId: filter.jobId } : {}),
      ...(filter.repositoryId ? { repositoryId: filter.repositoryId } : {}),
    };
    const [rows, total] = await Promise.all([
      this.db.restorePoint.findMany({ where, orderBy: { time: 'desc' }, skip: (page - 1) * perPage, take: perPage, select: pointSelect }),
      this.db.restorePoint.count({ where }),
    ]);
    return { rows: rows.map(read), total };
  }

  /** Every point (up to `take`) by VM name, newest first within a VM: the Backups page's grouping. */
  async byVm(take = 2000): Promise<CatalogPoint[]> {
    return (await this.db.restorePoint.findMany({ orderBy: [{ vmName: 'asc' }, { time: 'desc' }], take, select: pointSelect })).map(read);
  }
}
