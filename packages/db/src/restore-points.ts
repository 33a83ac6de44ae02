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
 * Which VM a point is of, as the restore catalog groups them: the inventory's VM while a
 * row of it exists (removed from the hypervisor or not), else the name the point recorded
 * (the VM row was deleted, so the point's `vmId` became null).
 */
export type CatalogVmKey = { vmId: string } | { vmName: string };

/** A VM that has restore points, as the restore wizard lists it. */
export type CatalogVm = {
  vmId: string | null;
  name: string;
  /** On the hypervisor at the last rescan. */
  inInventory: boolean;
  connection: { id: string; name: string } | null;
  points: number;
  newestAt: Date;
};

const pointsOf = (key: CatalogVmKey): Prisma.RestorePointWhereInput => ('vmId' in key ? { vmId: key.vmId } : { vmId: null, vmName: key.vmName });

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

  async get(id: string): Promise<CatalogPoint | null> {
    const row = await this.db.restorePoint.findUnique({ where: { id }, select: pointSelect });
    return row ? read(row) : null;
  }

  /**
   * VMs that have restore points, found by name (case-insensitive, part of it; the name a
   * point recorded or the VM's name now), including VMs no longer in the inventory: by name
   * first, those in the inventory before those that are not.
   */
  async vms(query: string, take = 100): Promise<CatalogVm[]> {
    const q = query.trim();
    const where: Prisma.RestorePointWhereInput = q
      ? { OR: [{ vmName: { contains: q, mode: 'insensitive' } }, { vm: { name: { contains: q, mode: 'insensitive' } } }] }
      : {};
    return (await this.summarize(where)).slice(0, take);
  }

  /** One VM of the catalog (null: it has no point). */
  async vm(key: CatalogVmKey): Promise<CatalogVm | null> {
    return (await this.summarize(pointsOf(key)))[0] ?? null;
  }

  private async summarize(where: Prisma.RestorePointWhereInput): Promise<CatalogVm[]> {
    const groups = await this.db.restorePoint.groupBy({ by: ['vmId', 'vmName'], where, _count: { _all: true }, _max: { time: true } });
    // A VM renamed between its backups has a group per name: one entry, named as its newest point.
    const merged = new Map<string, { vmId: string | null; vmName: string; points: number; newestAt: Date }>();
    for (const g of groups) {
      const key = g.vmId ?? `name:${g.vmName}`;
      const newestAt = g._max.time ?? new Date(0);
      const seen = merged.get(key);
      if (!seen) merged.set(key, { vmId: g.vmId, vmName: g.vmName, points: g._count._all, newestAt });
      else merged.set(key, { ...seen, points: seen.points + g._count._all, ...(newestAt > seen.newestAt ? { vmName: g.vmName, newestAt } : {}) });
    }
    const ids = [...merged.values()].flatMap((m) => (m.vmId ? [m.vmId] : []));
    const rows = await this.db.vm.findMany({
      where: { id: { in: ids } },
      select: { id: true, name: true, removed: true, connection: { select: { id: true, name: true } } },
    });
    const vms = new Map(rows.map((v) => [v.id, v]));
    return [...merged.values()]
      .map((m): CatalogVm => {
        const vm = m.vmId ? vms.get(m.vmId) : undefined;
        return {
          vmId: m.vmId,
          name: vm?.name ?? m.vmName,
          inInventory: Boolean(vm && !vm.removed),
          connection: vm?.connection ?? null,
          points: m.points,
          newestAt: m.newestAt,
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name) || Number(b.inInventory) - Number(a.inInventory) || b.newestAt.getTime() - a.newestAt.getTime());
  }

  /** A VM's points, newest first (see `CatalogVmKey` for which VM). */
  async ofVm(key: CatalogVmKey, take = 1000): Promise<CatalogPoint[]> {
    return (await this.db.restorePoint.findMany({ where: pointsOf(key), orderBy: { time: 'desc' }, take, select: pointSelect })).map(read);
  }
}
