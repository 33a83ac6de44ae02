import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  parseColumn,
  pointDisksSchema,
  RESTORE_KIND_NAMES,
  splitBrowserPath,
  restoreRequestSchema,
  type RestoreRefusal,
  type RestoreRequest,
  type SessionId,
} from '@strongbox/core';
import { inTransaction, type Db } from '../client.js';
import { MOVER_OFFLINE_AFTER_MS } from '../movers.js';
import { guestMountFsSchema } from './mounts.js';

/**
 * What the server resolved a restore request to when it started: names to rows and paths
 * from its own records (never from the request), and the point's disks. The mover works
 * from this and re-checks what can change meanwhile (the name, the pool's free space).
 */
export const resolvedRestoreSchema = z.object({
  point: z.object({
    id: z.string(),
    path: z.string(),
    time: z.string(),
    kind: z.string(),
    vmName: z.string(),
    vmId: z.string().nullable(),
    repositoryId: z.string(),
    repositoryPath: z.string(),
  }),
  /** The disks to write: their name in the point, size, data bytes (non-zero blocks). */
  disks: z.array(z.object({ name: z.string(), size: z.number(), dataBytes: z.number() })),
  connection: z.object({ id: z.string(), uri: z.string(), sshKeyPath: z.string().nullable() }),
  host: z.object({ name: z.string(), site: z.string() }).nullable(),
  pool: z.object({ name: z.string(), path: z.string(), type: z.string() }).nullable(),
  /** The VM written to in place (original, attach, replace). */
  targetVm: z.object({ id: z.string(), externalId: z.string(), name: z.string() }).nullable(),
  /** The name of the VM the restore makes (new VM, instant recovery). */
  newVmName: z.string().nullable(),
  /** A guest file restore: the file browser it came from, on which mover, and its file systems. */
  files: z.object({ mountId: z.string(), moverId: z.string().nullable(), filesystems: z.array(guestMountFsSchema) }).optional(),
});
export type ResolvedRestore = z.infer<typeof resolvedRestoreSchema>;

/** `Session.request` of a restore. */
export const restoreSessionRequestSchema = z.object({ request: restoreRequestSchema, resolved: resolvedRestoreSchema });
export type RestoreSessionRequest = z.infer<typeof restoreSessionRequestSchema>;

export type RestoreStart = { started: true; sessionId: SessionId } | { started: false; refusal: RestoreRefusal };

const refuse = (field: string, status: RestoreRefusal['status'], message: string): { started: false; refusal: RestoreRefusal } => ({
  started: false,
  refusal: { field, status, message },
});

const GiB = 2 ** 30;
const size = (bytes: number) => (bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.ceil(bytes / 2 ** 20)} MiB`);

/** A VM row that is (or was) on the hypervisor: the name is taken while it is not removed. */
async function nameTaken(tx: Db, connectionId: string, name: string): Promise<boolean> {
  const vm = await tx.vm.findFirst({ where: { connectionId, name, removed: false }, select: { id: true } });
  const instant = await tx.instantRecovery.findFirst({
    where: { connectionId, vmName: name, state: { notIn: ['stopped', 'migrated'] } },
    select: { id: true },
  });
  return vm !== null || instant !== null;
}

type Tx = Parameters<Parameters<typeof inTransaction>[2]>[0];

/**
 * Checks a restore request against the catalog and the inventory, every refusal naming
 * the field, and resolves what it names. Nothing is written.
 */
async function resolve(tx: Tx, request: RestoreRequest, now: Date): Promise<ResolvedRestore | { started: false; refusal: RestoreRefusal }> {
  const point = await tx.restorePoint.findUnique({
    where: { id: request.pointId },
    select: {
      id: true,
      path: true,
      time: true,
      kind: true,
      vmName: true,
      vmId: true,
      disks: true,
      repository: { select: { id: true, path: true, name: true } },
    },
  });
  if (!point) return refuse('pointId', 404, 'no such restore point');
  // Offline: no enabled mover that heartbeats sees the repository's store.
  const movers = await tx.mover.findMany({ where: { enabled: true, repositoryIds: { has: point.repository.id } }, select: { lastHeartbeatAt: true } });
  if (!movers.some((m) => now.getTime() - m.lastHeartbeatAt.getTime() < MOVER_OFFLINE_AFTER_MS))
    return refuse('pointId', 409, `the repository ${point.repository.name} of this point is offline: no running mover sees its store`);
  const pointDisks = (parseColumn(pointDisksSchema, point.disks, 'RestorePoint.disks') ?? []).map((d) => {
    const blocks = typeof d.blocks === 'number' ? d.blocks : Math.ceil(d.size / d.blockSize);
    const zero = typeof d.zeroBlocks === 'number' ? d.zeroBlocks : 0;
    return { name: d.name, size: d.size, dataBytes: Math.min(d.size, (blocks - zero) * d.blockSize) };
  });
  const base = {
    point: {
      id: point.id,
      path: point.path,
      time: point.time.toISOString(),
      kind: point.kind,
      vmName: point.vmName,
      vmId: point.vmId,
      repositoryId: point.repository.id,
      repositoryPath: point.repository.path,
    },
  };

  const connectionOf = async (id: string, field: string) => {
    const c = await tx.hypervisorConnection.findUnique({ where: { id }, select: { id: true, uri: true, sshKeyPath: true } });
    return c ?? refuse(field, 404, 'no such connection');
  };
  const hostOf = async (connectionId: string, hostId: string | undefined) => {
    const host = await tx.host.findFirst({
      where: { connectionId, ...(hostId ? { id: hostId } : {}) },
      orderBy: { name: 'asc' },
      select: { name: true, site: true },
    });
    if (!host && hostId) return refuse('hostId', 404, 'no such host on this connection');
    return host;
  };
  const poolOf = async (connectionId: string, name: string, needed: number) => {
    const pool = await tx.storagePool.findUnique({
      where: { connectionId_name: { connectionId, name } },
      select: { name: true, path: true, type: true, availableBytes: true, active: true },
    });
    if (!pool) return refuse('pool', 404, `no storage pool ${name} on this connection (rescan the connection if it was just made)`);
    if (!pool.active) return refuse('pool', 409, `storage pool ${name} is not active`);
    if (pool.availableBytes !== null && Number(pool.availableBytes) < needed)
      return refuse('pool', 409, `storage pool ${name} has ${size(Number(pool.availableBytes))} free, the disks need ${size(needed)}`);
    return { name: pool.name, path: pool.path, type: pool.type };
  };
  const vmOf = async (id: string, field: string) => {
    const vm = await tx.vm.findUnique({
      where: { id },
      select: { id: true, externalId: true, name: true, removed: true, connectionId: true, disks: { select: { name: true } } },
    });
    if (!vm || vm.removed) return refuse(field, 404, 'no such VM in the inventory');
    return vm;
  };
  const failed = (v: unknown): v is { started: false; refusal: RestoreRefusal } => typeof v === 'object' && v !== null && 'refusal' in v;

  switch (request.kind) {
    case 'vm-new': {
      const connection = await connectionOf(request.connectionId, 'connectionId');
      if (failed(connection)) return connection;
      const host = await hostOf(connection.id, request.hostId);
      if (failed(host)) return host;
      if (await nameTaken(tx, connection.id, request.name)) return refuse('name', 409, `a VM named ${request.name} exists on this connection`);
      const pool = await poolOf(
        connection.id,
        request.pool,
        pointDisks.reduce((n, d) => n + d.dataBytes, 0),
      );
      if (failed(pool)) return pool;
      return { ...base, disks: pointDisks, connection, host, pool, targetVm: null, newVmName: request.name };
    }
    case 'vm-original': {
      if (!point.vmId) return refuse('pointId', 409, `the VM ${point.vmName} of this point is no longer in the inventory: restore it as a new VM`);
      const vm = await vmOf(point.vmId, 'pointId');
      if (failed(vm)) return vm;
      const connection = await connectionOf(vm.connectionId, 'pointId');
      if (failed(connection)) return connection;
      const host = await tx.vm.findUnique({ where: { id: vm.id }, select: { host: { select: { name: true, site: true } } } });
      const missing = pointDisks.filter((d) => !vm.disks.some((v) => v.name === d.name));
      if (missing.length > 0)
        return refuse('pointId', 409, `the VM no longer has disk(s) ${missing.map((d) => d.name).join(', ')} of this point: restore those as virtual disks`);
      return {
        ...base,
        disks: pointDisks,
        connection,
        host: host?.host ?? null,
        pool: null,
        targetVm: { id: vm.id, externalId: vm.externalId, name: vm.name },
        newVmName: null,
      };
    }
    case 'disks': {
      const unknown = request.disks.filter((d) => !pointDisks.some((p) => p.name === d));
      if (unknown.length > 0) return refuse('disks', 400, `the point has no disk ${unknown.join(', ')} (it has ${pointDisks.map((d) => d.name).join(', ')})`);
      const chosen = pointDisks.filter((d) => request.disks.includes(d.name));
      const needed = chosen.reduce((n, d) => n + d.dataBytes, 0);
      const to = request.to;
      if (to.mode === 'pool') {
        const connection = await connectionOf(to.connectionId, 'to.connectionId');
        if (failed(connection)) return connection;
        const pool = await poolOf(connection.id, to.pool, needed);
        if (failed(pool)) return { started: false, refusal: { ...pool.refusal, field: 'to.pool' } };
        const host = await hostOf(connection.id, undefined);
        return { ...base, disks: chosen, connection, host: failed(host) ? null : host, pool, targetVm: null, newVmName: null };
      }
      const vm = await vmOf(to.vmId, 'to.vmId');
      if (failed(vm)) return vm;
      const connection = await connectionOf(vm.connectionId, 'to.vmId');
      if (failed(connection)) return connection;
      const host = await tx.vm.findUnique({ where: { id: vm.id }, select: { host: { select: { name: true, site: true } } } });
      let pool: ResolvedRestore['pool'] = null;
      if (to.mode === 'attach') {
        const p = await poolOf(connection.id, to.pool, needed);
        if (failed(p)) return { started: false, refusal: { ...p.refusal, field: 'to.pool' } };
        pool = p;
      } else {
        const missing = chosen.filter((d) => !vm.disks.some((v) => v.name === d.name));
        if (missing.length > 0) return refuse('disks', 409, `the VM has no disk ${missing.map((d) => d.name).join(', ')} to replace`);
      }
      return {
        ...base,
        disks: chosen,
        connection,
        host: host?.host ?? null,
        pool,
        targetVm: { id: vm.id, externalId: vm.externalId, name: vm.name },
        newVmName: null,
      };
    }
    case 'instant': {
      const connection = await connectionOf(request.connectionId, 'connectionId');
      if (failed(connection)) return connection;
      const host = await hostOf(connection.id, request.hostId);
      if (failed(host)) return host;
      const name = request.name ?? point.vmName;
      if (await nameTaken(tx, connection.id, name))
        return refuse(
          'name',
          409,
          request.name ? `a VM named ${name} exists on this connection` : `the original VM ${name} still exists: give the recovered VM a new name`,
        );
      return { ...base, disks: pointDisks, connection, host, pool: null, targetVm: null, newVmName: name };
    }
    case 'files': {
      const mount = await tx.guestMount.findUnique({
        where: { id: request.mountId },
        select: { pointId: true, state: true, filesystems: true, moverId: true },
      });
      if (!mount) return refuse('mountId', 404, 'no such file browser');
      if (mount.pointId !== point.id) return refuse('mountId', 409, 'this file browser shows another restore point');
      if (mount.state !== 'ready') return refuse('mountId', 409, `the file browser is ${mount.state}: open the restore point again`);
      const filesystems = z.array(guestMountFsSchema).parse(mount.filesystems);
      for (const path of request.paths) {
        const { key, inner } = splitBrowserPath(path);
        const fs = filesystems.find((f) => f.key === key);
        if (!fs) return refuse('paths', 400, `${path} does not start at one of this point's file systems (${filesystems.map((f) => f.key).join(', ')})`);
        if (!fs.mountable) return refuse('paths', 409, `${key} (${fs.type}) holds no file system the appliance reads`);
        if (inner === '/') return refuse('paths', 400, `${path} is a whole file system: choose files or folders inside it`);
      }
      if (!point.vmId) return refuse('pointId', 409, `the VM ${point.vmName} of this point is no longer in the inventory: download the files instead`);
      const vm = await vmOf(point.vmId, 'pointId');
      if (failed(vm)) return vm;
      const connection = await connectionOf(vm.connectionId, 'pointId');
      if (failed(connection)) return connection;
      const host = await tx.vm.findUnique({ where: { id: vm.id }, select: { host: { select: { name: true, site: true } } } });
      return {
        ...base,
        disks: [],
        connection,
        host: host?.host ?? null,
        pool: null,
        targetVm: { id: vm.id, externalId: vm.externalId, name: vm.name },
        newVmName: null,
        files: { mountId: request.mountId, moverId: mount.moverId, filesystems },
      };
    }
  }
}

/**
 * A restore: its request checked and resolved, then the session with one task per disk
 * (unit `restore`) and its first log lines in one transaction. The controller's round
 * gives it to a mover near the target once a repository slot is free and no backup of the
 * VM it writes runs. Bad input changes nothing and names the field.
 */
export async function startRestore(db: Db, input: { request: unknown; triggeredBy: string; now?: Date }): Promise<RestoreStart> {
  const parsed = restoreRequestSchema.safeParse(input.request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return refuse(issue.path.join('.') || 'kind', 400, issue.message);
  }
  const request = parsed.data;
  const now = input.now ?? new Date();
  return inTransaction(db, 'runs.startRestore', async (tx) => {
    const resolved = await resolve(tx, request, now);
    if ('refusal' in resolved) return resolved;
    const id = randomUUID() as SessionId;
    const where = resolved.newVmName ?? resolved.targetVm?.name ?? resolved.pool?.name ?? '';
    await tx.session.create({
      data: {
        id,
        kind: 'restore',
        repositoryId: resolved.point.repositoryId,
        name: `${RESTORE_KIND_NAMES[request.kind]}: ${resolved.point.vmName}${where && where !== resolved.point.vmName ? ` → ${where}` : ''}`,
        triggeredBy: input.triggeredBy,
        status: 'pending',
        request: { request, resolved },
        targetVmId: resolved.targetVm?.id ?? null,
      },
    });
    // A disk restore has a task per disk; a file restore one for all its files (their size is known once the mover walks them).
    await tx.task.createMany({
      data:
        request.kind === 'files'
          ? [{ sessionId: id, unit: 'restore', vmId: resolved.point.vmId, diskName: null, bytesTotal: 0n }]
          : resolved.disks.map((d) => ({ sessionId: id, unit: 'restore', vmId: resolved.point.vmId, diskName: d.name, bytesTotal: BigInt(d.size) })),
    });
    const what =
      request.kind === 'files'
        ? `${request.paths.length} path(s) into the running VM (${request.mode === 'overwrite' ? 'overwriting its files' : 'keeping both'})`
        : `${resolved.disks.length} disk(s)`;
    await tx.sessionLog.create({
      data: {
        sessionId: id,
        level: 'info',
        message: `started by ${input.triggeredBy}: ${RESTORE_KIND_NAMES[request.kind]} of ${resolved.point.vmName} from the ${resolved.point.kind} point of ${resolved.point.time}, ${what}`,
      },
    });
    return { started: true, sessionId: id };
  });
}

/** A restore session's request, parsed. */
export function restoreRequestOf(value: unknown): RestoreSessionRequest {
  const parsed = parseColumn(restoreSessionRequestSchema, value, 'Session.request');
  if (!parsed) throw new Error('this restore session carries no request');
  return parsed;
}
