import { z } from 'zod';
import { RESTORE_KIND_NAMES, restoreRequestSchema, type RestoreRefusal, type RestoreRequest } from '@strongbox/core';
import {
  AppError,
  InstantRecoveries,
  Inventory,
  prisma,
  restoreRequestOf,
  Runs,
  type CatalogPoint,
  type CatalogVm,
  type ErrorCode,
  type GuestMountRow,
  type InstantRecoveryRow,
  type PrismaClient,
  type RestoreSessionRequest,
} from '@strongbox/db';
import type { Actor } from './auth';
import type { FileRestoreBody } from './mount-schemas';
import type { CatalogPointDto, CatalogVmDto, InstantRecoveryDto, RestoreRequestDto, StoragePoolDto } from './restore-schemas';
import { nudgeController } from './runs-service';
import { sessionDetail, toSessionDto } from './sessions-service';

type Audit = (action: string, targetType: string, targetId: string | null, details?: object) => Promise<unknown>;

const CODE: Record<RestoreRefusal['status'], ErrorCode> = { 400: 'BAD_REQUEST', 404: 'NOT_FOUND', 409: 'CONFLICT', 503: 'UNAVAILABLE' };

/** A refusal as every API error is shaped; `details.fields` as a 400 of any route has it, so that the console shows it by the field. */
const refused = (r: RestoreRefusal) => new AppError(CODE[r.status], r.message, { field: r.field, fields: [{ field: r.field, message: r.message }] });

/** An audit row keeps what was asked, but not an unbounded body. */
function asAsked(raw: unknown): unknown {
  const json = JSON.stringify(raw) ?? 'null';
  return json.length <= 4000 ? raw : { truncated: json.slice(0, 4000) };
}

/** A request's invalid fields, the first named in `field` as every refusal is (a body-level issue is `kind`'s, the discriminator). */
const fieldsOf = (error: z.ZodError) => error.issues.map((i) => ({ field: i.path.join('.') || 'kind', message: i.message }));
const badRequest = (fields: { field: string; message: string }[]) =>
  new AppError('BAD_REQUEST', fields.map((f) => `${f.field}: ${f.message}`).join('; '), { field: fields[0]!.field, fields });

const pointIdOf = (raw: unknown): string | null => {
  const id = typeof raw === 'object' && raw !== null && 'pointId' in raw ? raw.pointId : undefined;
  return z.uuid().safeParse(id).success ? (id as string) : null;
};

/**
 * A restore asked through the API or the console: checked and resolved by the run module,
 * which makes its session in one transaction. Every ask is audited — who, which point, the
 * request — a refused one with why, since a refused overwrite is as telling as a done one.
 */
export async function startRestore(raw: unknown, actor: Actor, audit: Audit): Promise<{ sessionId: string }> {
  const pointId = pointIdOf(raw);
  const parsed = restoreRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = fieldsOf(parsed.error);
    await audit('restore.refused', 'restore-point', pointId, { request: asAsked(raw), status: 400, field: fields[0]!.field, message: fields[0]!.message });
    throw badRequest(fields);
  }
  if (parsed.data.kind === 'files') {
    // Its file browser belongs to one user: the route of the browser checks that, this one could not.
    const refusal: RestoreRefusal = {
      field: 'kind',
      status: 400,
      message: 'guest files are restored from their file browser: POST /api/v1/mounts/{id}/restore',
    };
    await audit('restore.refused', 'restore-point', pointId, { request: parsed.data, ...refusal });
    throw refused(refusal);
  }
  return start(parsed.data, actor, audit);
}

/** The run module checks and starts it; audited either way. */
async function start(request: RestoreRequest, actor: Actor, audit: Audit): Promise<{ sessionId: string }> {
  const started = await new Runs(prisma()).startRestore({ request, triggeredBy: actor.email });
  if (!started.started) {
    await audit('restore.refused', 'restore-point', request.pointId, { request, ...started.refusal });
    throw refused(started.refusal);
  }
  await audit('restore.start', 'restore-point', request.pointId, { sessionId: started.sessionId, request });
  await nudgeController();
  return { sessionId: started.sessionId };
}

/**
 * Files and folders of the caller's file browser written back into the running original
 * VM: a restore session of kind `files`, audited with every path.
 */
export async function restoreFromMount(mount: GuestMountRow, body: FileRestoreBody, actor: Actor, audit: Audit): Promise<{ sessionId: string }> {
  if (mount.state !== 'ready') throw new AppError('CONFLICT', `the file browser is ${mount.state}: open the restore point again`);
  if (!mount.pointId) throw new AppError('CONFLICT', 'the restore point of this file browser is gone');
  const parsed = restoreRequestSchema.safeParse({ kind: 'files', pointId: mount.pointId, mountId: mount.id, paths: body.paths, mode: body.mode });
  if (!parsed.success) throw badRequest(fieldsOf(parsed.error));
  return start(parsed.data, actor, audit);
}

/** Where a restore writes, in one line. */
function targetOf({ request, resolved }: RestoreSessionRequest): string {
  switch (request.kind) {
    case 'vm-new':
      return `new VM ${request.name}, disks in pool ${request.pool} (${request.format})`;
    case 'vm-original':
      return `VM ${resolved.targetVm?.name ?? resolved.point.vmName} in place${request.quickRollback ? ', quick rollback' : ''}`;
    case 'disks': {
      const to = request.to;
      if (to.mode === 'pool') return `image files in pool ${to.pool} (${to.format})`;
      if (to.mode === 'attach') return `new disks of VM ${resolved.targetVm?.name ?? '?'}, in pool ${to.pool} (${to.format})`;
      return `disks of VM ${resolved.targetVm?.name ?? '?'}, overwritten`;
    }
    case 'instant':
      return `VM ${resolved.newVmName ?? resolved.point.vmName}, run from the backup`;
    case 'files':
      return `files into the running VM ${resolved.targetVm?.name ?? resolved.point.vmName} (${request.mode === 'overwrite' ? 'overwriting its files' : 'keeping both'}): ${request.paths.join(', ')}`;
  }
}

/** A restore session's request for the console and the API: what was asked and what it resolved to, without movers' paths of the store. */
export function toRestoreRequestDto(value: unknown): RestoreRequestDto {
  const parsed = restoreRequestOf(value);
  const { request, resolved } = parsed;
  return {
    kind: request.kind,
    kindName: RESTORE_KIND_NAMES[request.kind],
    request,
    point: {
      id: resolved.point.id,
      time: resolved.point.time,
      kind: resolved.point.kind,
      vmName: resolved.point.vmName,
      vmId: resolved.point.vmId,
      repositoryId: resolved.point.repositoryId,
    },
    disks: resolved.disks.map((d) => ({ name: d.name, sizeBytes: d.size })),
    connectionId: resolved.connection.id,
    host: resolved.host?.name ?? null,
    pool: resolved.pool,
    targetVm: resolved.targetVm ? { id: resolved.targetVm.id, name: resolved.targetVm.name } : null,
    newVmName: resolved.newVmName,
    target: targetOf(parsed),
  };
}

/** Restore sessions, newest first, each with its request. */
export async function listRestores(page: number, perPage: number) {
  const db = prisma();
  const { rows, total } = await new Runs(db).list({ kind: 'restore' }, page, perPage);
  const requests = await db.session.findMany({ where: { id: { in: rows.map((r) => r.id) } }, select: { id: true, request: true } });
  const requestOf = new Map(requests.map((r) => [r.id, r.request]));
  return { data: rows.map((r) => ({ ...toSessionDto(r), restore: toRestoreRequestDto(requestOf.get(r.id)) })), total, page, perPage };
}

/** What a restore session adds to a session: its request, and the instant recovery it made (null for other kinds of session). */
export async function restoreOfSession(db: PrismaClient, id: string) {
  const row = await db.session.findUnique({ where: { id }, select: { kind: true, request: true } });
  if (!row || row.kind !== 'restore') return null;
  const instant = await db.instantRecovery.findFirst({ where: { sessionId: id }, orderBy: { startedAt: 'desc' }, select: { id: true } });
  const recovery = instant ? await new InstantRecoveries(db).get(instant.id) : null;
  return { restore: toRestoreRequestDto(row.request), instantRecovery: recovery ? (await toInstantDtos(db, [recovery]))[0]! : null };
}
export type RestoreOfSession = NonNullable<Awaited<ReturnType<typeof restoreOfSession>>>;

/** One restore: the session as its page shows it, its request, and its instant recovery if it made one. */
export async function restoreDetail(db: PrismaClient, id: string) {
  const restore = await restoreOfSession(db, id);
  if (!restore) throw new AppError('NOT_FOUND', 'no such restore');
  return { ...(await sessionDetail(db, id)), ...restore };
}
export type RestoreDetail = Awaited<ReturnType<typeof restoreDetail>>;

export function toCatalogVmDto(v: CatalogVm): CatalogVmDto {
  return { vmId: v.vmId, name: v.name, inInventory: v.inInventory, connection: v.connection, points: v.points, newestAt: v.newestAt.toISOString() };
}

export function toCatalogPointDto(p: CatalogPoint): CatalogPointDto {
  return {
    id: p.id,
    vmId: p.vmId,
    vmName: p.vmName,
    time: p.time.toISOString(),
    kind: p.kind,
    sizeBytes: p.disks.reduce((n, d) => n + d.size, 0),
    storedBytes: p.disks.reduce((n, d) => n + d.storedBytes, 0),
    disks: p.disks.map((d) => ({ name: d.name, sizeBytes: d.size, storedBytes: d.storedBytes })),
    repository: p.repository,
    jobName: p.job?.name ?? null,
  };
}

/** Where a restore may write on a connection: its storage pools as the last rescan saw them. */
export async function poolsOf(connectionId: string): Promise<StoragePoolDto[]> {
  const inventory = new Inventory(prisma());
  if (!(await inventory.connection(connectionId))) throw new AppError('NOT_FOUND', 'no such connection');
  return (await inventory.pools(connectionId)).map((p) => ({
    name: p.name,
    type: p.type,
    path: p.path,
    capacityBytes: p.capacityBytes === null ? null : Number(p.capacityBytes),
    availableBytes: p.availableBytes === null ? null : Number(p.availableBytes),
    active: p.active,
    lastSeenAt: p.lastSeenAt.toISOString(),
  }));
}

export async function toInstantDtos(db: PrismaClient, rows: InstantRecoveryRow[]): Promise<InstantRecoveryDto[]> {
  const connections = await db.hypervisorConnection.findMany({
    where: { id: { in: [...new Set(rows.map((r) => r.connectionId))] } },
    select: { id: true, name: true },
  });
  const connectionOf = new Map(connections.map((c) => [c.id, c]));
  return rows.map((r) => ({
    id: r.id,
    sessionId: r.sessionId,
    vmName: r.vmName,
    connection: connectionOf.get(r.connectionId) ?? null,
    pointId: r.pointId,
    state: r.state,
    error: r.error,
    bytesServed: r.bytesServed,
    overlayBytes: r.overlayBytes,
    disks: r.disks.map((d) => ({ name: d.name, sizeBytes: d.size })),
    startedAt: r.startedAt.toISOString(),
    runningAt: r.runningAt?.toISOString() ?? null,
    endedAt: r.endedAt?.toISOString() ?? null,
  }));
}

/**
 * Migrate to production or stop publishing: the recovery's row changes state and its mover
 * is told in one transaction (a second click finds it changed: 409). Audited either way.
 */
export async function instantAction(
  id: string,
  action: 'migrate' | 'stop',
  actor: Actor,
  audit: Audit,
  target?: { pool: string; format: 'qcow2' | 'raw' },
): Promise<void> {
  const result = await new InstantRecoveries(prisma()).requestAction(id, action, actor.email, target);
  if (!result.ok) {
    await audit(`instant.${action}.refused`, 'instant-recovery', id, { ...target, status: result.status, message: result.message });
    throw new AppError(result.status === 404 ? 'NOT_FOUND' : 'CONFLICT', result.message);
  }
  await audit(`instant.${action}`, 'instant-recovery', id, { ...target });
  await nudgeController();
}
