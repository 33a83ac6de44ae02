import type { Db } from './client.js';
import { AppError, isUniqueViolation } from './errors.js';

export type ScannedHost = { name: string; cpuCount: number; memoryBytes: number };
/** A storage pool (or the default image folder) a restore may write to, as the hypervisor reports it. */
export type ScannedPool = { name: string; type: string; path: string; capacityBytes: number | null; availableBytes: number | null; active: boolean };
export type ScannedVm = {
  externalId: string;
  name: string;
  powerState: string;
} & (
  | { configXml: string | null; disks: { name: string; path: string | null; format: string | null; sizeBytes: number }[]; problem?: undefined }
  /** Listed by the hypervisor but not readable: config and disks stay as last read. */
  | { problem: string; configXml?: undefined; disks?: undefined }
);

export const connectionSelect = {
  id: true,
  name: true,
  kind: true,
  uri: true,
  sshKeyPath: true,
  lastRescanAt: true,
  lastError: true,
  version: true,
  createdAt: true,
  _count: { select: { vms: { where: { removed: false } }, hosts: true } },
} as const;

export class Inventory {
  constructor(private readonly db: Db) {}

  listConnections() {
    return this.db.hypervisorConnection.findMany({ select: connectionSelect, orderBy: { name: 'asc' } });
  }

  connection(id: string) {
    return this.db.hypervisorConnection.findUnique({ where: { id }, select: connectionSelect });
  }

  async createConnection(input: { name: string; uri: string; sshKeyPath?: string | undefined }) {
    try {
      return await this.db.hypervisorConnection.create({
        data: { name: input.name, kind: 'libvirt', uri: input.uri, sshKeyPath: input.sshKeyPath ?? null },
        select: connectionSelect,
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('CONFLICT', `a connection named "${input.name}" already exists`, { field: 'name' });
      throw error;
    }
  }

  async deleteConnection(id: string) {
    const jobs = await this.db.backupJob.count({ where: { connectionId: id } });
    if (jobs > 0) throw new AppError('CONFLICT', `${jobs} backup job(s) use this connection; delete or move them first`);
    const result = await this.db.hypervisorConnection.deleteMany({ where: { id } });
    if (result.count === 0) throw new AppError('NOT_FOUND', 'no such connection');
  }

  recordRescanError(id: string, message: string) {
    return this.db.hypervisorConnection.update({ where: { id }, data: { lastError: message } });
  }

  /**
   * Makes the inventory what the hypervisor reported: hosts and VMs upserted by name and
   * hypervisor id, disks replaced, VMs no longer reported marked removed (kept while
   * restore points refer to them).
   */
  async applyRescan(connectionId: string, hosts: ScannedHost[], vms: ScannedVm[], now = new Date(), pools?: ScannedPool[]) {
    const hostIds: string[] = [];
    for (const host of hosts) {
      const row = await this.db.host.upsert({
        where: { connectionId_name: { connectionId, name: host.name } },
        create: { connectionId, name: host.name, cpuCount: host.cpuCount, memoryBytes: BigInt(host.memoryBytes), lastSeenAt: now },
        update: { cpuCount: host.cpuCount, memoryBytes: BigInt(host.memoryBytes), lastSeenAt: now },
        select: { id: true },
      });
      hostIds.push(row.id);
    }
    // A libvirt connection is one host: its VMs run there.
    const hostId = hostIds.length === 1 ? hostIds[0]! : null;
    for (const vm of vms) {
      const read = vm.problem === undefined ? { configXml: vm.configXml, problem: null } : { problem: vm.problem };
      const row = await this.db.vm.upsert({
        where: { connectionId_externalId: { connectionId, externalId: vm.externalId } },
        create: { connectionId, hostId, externalId: vm.externalId, name: vm.name, powerState: vm.powerState, lastSeenAt: now, ...read },
        update: { hostId, name: vm.name, powerState: vm.powerState, lastSeenAt: now, removed: false, ...read },
        select: { id: true },
      });
      if (vm.disks === undefined) continue;
      await this.db.vmDisk.deleteMany({ where: { vmId: row.id, name: { notIn: vm.disks.map((d) => d.name) } } });
      for (const disk of vm.disks) {
        await this.db.vmDisk.upsert({
          where: { vmId_name: { vmId: row.id, name: disk.name } },
          create: { vmId: row.id, name: disk.name, path: disk.path, format: disk.format, sizeBytes: BigInt(disk.sizeBytes) },
          update: { path: disk.path, format: disk.format, sizeBytes: BigInt(disk.sizeBytes) },
        });
      }
    }
    await this.db.vm.updateMany({
      where: { connectionId, externalId: { notIn: vms.map((v) => v.externalId) }, removed: false },
      data: { removed: true },
    });
    if (pools) await this.applyPools(connectionId, pools, now);
    await this.db.hypervisorConnection.update({ where: { id: connectionId }, data: { lastRescanAt: now, lastError: null } });
  }

  /** The connection's pools become those reported; one no longer reported is gone (restores name pools, they keep no reference). */
  async applyPools(connectionId: string, pools: ScannedPool[], now = new Date()) {
    for (const p of pools) {
      const data = {
        type: p.type,
        path: p.path,
        capacityBytes: p.capacityBytes === null ? null : BigInt(p.capacityBytes),
        availableBytes: p.availableBytes === null ? null : BigInt(p.availableBytes),
        active: p.active,
        lastSeenAt: now,
      };
      await this.db.storagePool.upsert({
        where: { connectionId_name: { connectionId, name: p.name } },
        create: { connectionId, name: p.name, ...data },
        update: data,
      });
    }
    await this.db.storagePool.deleteMany({ where: { connectionId, name: { notIn: pools.map((p) => p.name) } } });
  }

  /** Where a restore may write on a connection: its storage pools as the last rescan saw them. */
  pools(connectionId: string) {
    return this.db.storagePool.findMany({ where: { connectionId }, orderBy: { name: 'asc' } });
  }

  vms(filter: { connectionId?: string; includeRemoved?: boolean } = {}) {
    return this.db.vm.findMany({
      where: { ...(filter.connectionId ? { connectionId: filter.connectionId } : {}), ...(filter.includeRemoved ? {} : { removed: false }) },
      select: {
        id: true,
        name: true,
        powerState: true,
        removed: true,
        problem: true,
        restoreFailure: true,
        lastSeenAt: true,
        connectionId: true,
        host: { select: { id: true, name: true } },
        disks: { select: { name: true, format: true, sizeBytes: true }, orderBy: { name: 'asc' } },
      },
      orderBy: { name: 'asc' },
    });
  }
}
