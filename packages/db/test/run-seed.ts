import { randomBytes } from 'node:crypto';
import { jobSpecSchema, type JobSpecInput } from '@strongbox/core';
import { BackupJobs, type PrismaClient } from '../src/index.js';

const tag = () => randomBytes(4).toString('hex');

/** Inventory rows as a rescan makes them: a connection, a host, VMs with one disk each. */
export async function seedVms(db: PrismaClient, names: string[]) {
  const connection = await db.hypervisorConnection.create({ data: { name: `conn-${tag()}`, uri: 'qemu:///system', lastRescanAt: new Date() } });
  const host = await db.host.create({ data: { connectionId: connection.id, name: `host-${tag()}`, site: 'lab' } });
  const vms = [];
  for (const name of names) {
    vms.push(
      await db.vm.create({
        data: {
          connectionId: connection.id,
          hostId: host.id,
          externalId: tag(),
          name,
          powerState: 'running',
          disks: { create: [{ name: 'vda', sizeBytes: 1n << 20n }] },
        },
        select: { id: true, name: true },
      }),
    );
  }
  return { connectionId: connection.id, hostName: host.name, vms };
}

export async function seedRepository(db: PrismaClient, over: { maxConcurrentTasks?: number } = {}) {
  return db.backupRepository.create({
    data: { name: `repo-${tag()}`, path: `/var/tmp/strongbox-test-${tag()}`, maxConcurrentTasks: over.maxConcurrentTasks ?? 4 },
  });
}

export async function seedJob(db: PrismaClient, spec: Omit<JobSpecInput, 'name' | 'retention' | 'schedule'> & Partial<JobSpecInput>) {
  return new BackupJobs(db).create(jobSpecSchema.parse({ name: `job-${tag()}`, retention: { keepPoints: 7 }, schedule: { kind: 'manual' }, ...spec }), null);
}

/** A mover row that heartbeats now (its process is not needed: the round only reads the row). */
export async function seedMover(db: PrismaClient, over: { hostName?: string; maxConcurrentTasks?: number; repositoryIds?: string[] } = {}) {
  return db.mover.create({
    data: {
      name: `mover-${tag()}`,
      hostName: over.hostName ?? `elsewhere-${tag()}`,
      site: 'lab',
      cores: 2,
      maxConcurrentTasks: over.maxConcurrentTasks ?? 2,
      softwareVersion: 'test',
      lastHeartbeatAt: new Date(),
      repositoryIds: over.repositoryIds ?? [],
    },
  });
}
