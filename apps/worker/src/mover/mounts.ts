import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { processesWhere } from '@strongbox/config';
import { messageOf } from '@strongbox/core';
import { GuestMounts, type GuestMountFs, type GuestMountRow } from '@strongbox/db';
import { GuestfsAppliance, type GuestFilesystem } from '@strongbox/guestfs';
import { DEFAULT_WORK_DIR } from '@strongbox/hypervisors';
import { NbdServer } from '@strongbox/nbd';
import { PointDiskSource } from '@strongbox/pipeline';
import type { Payload } from '@strongbox/queue';
import { Repository, type PointReader } from '@strongbox/repository';
import type { MoverContext } from './mover-context.js';

/**
 * Guest-file mounts on this mover: the point's disks served read-only over NBD from the
 * repository by an NbdServer in this process, and one libguestfs appliance on them (its
 * QEMU reads them through that export, read-only; nothing is written to the repository,
 * and the appliance's own overlay lives in the mount's scratch folder). The file service
 * (file-service.ts) answers the web's browse and download requests from `open`.
 *
 * A mount lives as long as this process: it ends when its user ends it, after its idle
 * timeout, or when the mover stops. A mover killed under one leaves its appliance and
 * folder; its next start removes them (settleMounts) — the mount itself was ended meanwhile
 * by the controller, or is ended then.
 */
export type OpenMount = {
  row: GuestMountRow;
  appliance: GuestfsAppliance;
  /** key (the first segment of a browse path) → file system. */
  filesystems: Map<string, GuestMountFs>;
  lastUsed: number;
  lastRecorded: number;
  close(): Promise<void>;
};
export const open = new Map<string, OpenMount>();

export const mountScratch = (workDir: string | undefined, id: string) => join(workDir ?? DEFAULT_WORK_DIR, 'mounts', id);
const socketOf = (scratch: string) => join(scratch, 'nbd.sock');

/** The key a browse path starts with: the device without /dev/, slashes as dashes (sda1, vg0-data, mapper-x). */
export function keysFor(filesystems: readonly GuestFilesystem[]): GuestMountFs[] {
  const used = new Set<string>();
  return filesystems.map((f) => {
    const base = f.device.replace(/^\/dev\//, '').replace(/\//g, '-') || 'fs';
    let key = base;
    for (let n = 2; used.has(key); n++) key = `${base}~${n}`;
    used.add(key);
    return { key, device: f.device, type: f.type, label: f.label, uuid: f.uuid, sizeBytes: f.sizeBytes, mountable: f.mountable };
  });
}

/** A point's disks served read-only from the repository over NBD, and a libguestfs appliance on them. */
export type ServedAppliance = { appliance: GuestfsAppliance; filesystems: GuestMountFs[]; close(): Promise<void> };

/**
 * Serves `reader`'s disks on a socket in `scratch` and boots an appliance on them (its
 * QEMU reads them through that export, read-only; its overlay lives in `scratch`). What it
 * made goes when it fails, or at `close` (the reader and the folder are the caller's).
 */
export async function serveAppliance(ctx: MoverContext, reader: PointReader, scratch: string, logKey: string, signal?: AbortSignal): Promise<ServedAppliance> {
  let server: NbdServer | undefined;
  let sources: PointDiskSource[] = [];
  let appliance: GuestfsAppliance | undefined;
  const close = async () => {
    await appliance?.close().catch((e: unknown) => ctx.log.warn({ err: e, key: logKey }, 'appliance close failed'));
    await server?.close().catch(() => undefined);
    for (const s of sources) await s.close().catch(() => undefined);
  };
  try {
    await mkdir(scratch, { recursive: true, mode: 0o755 });
    // libguestfs's QEMU may run as another user: the folder must be searchable, the socket reachable.
    await chmod(scratch, 0o755);
    const disks = reader.disks;
    sources = disks.map((d) => new PointDiskSource(reader.disk(d.name), { cacheBytes: Math.floor((128 * 2 ** 20) / disks.length) }));
    server = await NbdServer.listen({ unix: socketOf(scratch) }, new Map(disks.map((d, i) => [d.name, sources[i]!])), {
      onError: (e: unknown) => ctx.log.warn({ err: e, key: logKey }, 'guest-file export: a read failed'),
    });
    await chmod(socketOf(scratch), 0o777);
    appliance = await GuestfsAppliance.launch({
      drives: disks.map((d) => ({ uri: `nbd:///${encodeURIComponent(d.name)}?socket=${socketOf(scratch)}`, format: 'raw' as const, name: d.name })),
      workDir: join(scratch, 'appliance'),
      ...(signal ? { signal } : {}),
    });
    return { appliance, filesystems: keysFor(await appliance.filesystems()), close };
  } catch (error) {
    await close();
    throw error;
  }
}

export async function openMount(ctx: MoverContext, payload: Payload<'mount.open'>, signal?: AbortSignal): Promise<void> {
  const mounts = new GuestMounts(ctx.db);
  const row = await mounts.get(payload.mountId);
  if (!row || row.moverId !== ctx.moverId || row.state !== 'starting' || open.has(row.id)) return;
  const started = Date.now();
  const scratch = mountScratch(ctx.workDir, row.id);
  if (!(await mounts.recordScratch(row.id, ctx.moverId, scratch))) return;
  let reader: PointReader | undefined;
  let served: ServedAppliance | undefined;
  const release = async () => {
    await served?.close();
    await reader?.close().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  };
  try {
    const point = row.pointId
      ? await ctx.db.restorePoint.findUnique({ where: { id: row.pointId }, select: { path: true, repository: { select: { path: true } } } })
      : null;
    if (!point) throw new Error('the restore point is gone');
    reader = await (await Repository.open(point.repository.path)).openPoint(point.path);
    await ctx.runs.log(row.sessionId, 'info', `serving ${reader.disks.length} disk(s) read-only; starting the file-system appliance`);
    served = await serveAppliance(ctx, reader, scratch, row.id, signal);
    const { filesystems } = served;
    const now = Date.now();
    const entry: OpenMount = {
      row,
      appliance: served.appliance,
      filesystems: new Map(filesystems.map((f) => [f.key, f])),
      lastUsed: now,
      lastRecorded: now,
      close: release,
    };
    open.set(row.id, entry);
    if (!(await mounts.markReady(row.id, ctx.moverId, filesystems, now - started))) {
      // Ended while it started (its user, or the controller): it goes now.
      open.delete(row.id);
      await release();
      await mounts.finish(row.id, { state: 'stopped', reason: 'ended while it started' });
    }
  } catch (error) {
    open.delete(row.id);
    await release();
    await mounts.finish(row.id, { state: 'failed', reason: 'it could not start', error: messageOf(error) });
  }
}

/** Ends one of this mover's mounts: the appliance, the export and the folder go, then its rows. */
export async function endMount(ctx: MoverContext, id: string, reason: string, interrupted = false): Promise<void> {
  const entry = open.get(id);
  open.delete(id);
  if (entry) await entry.close();
  await new GuestMounts(ctx.db).finish(id, { state: 'stopped', reason, interrupted });
}

export async function closeMount(ctx: MoverContext, payload: Payload<'mount.close'>): Promise<void> {
  const row = await new GuestMounts(ctx.db).get(payload.mountId);
  if (!row || row.moverId !== ctx.moverId) return;
  // One still starting ends when its start sees the state (markReady refuses).
  if (row.state === 'starting' && !open.has(row.id)) return;
  await endMount(ctx, row.id, `ended by ${payload.by}`);
}

/** Every few seconds: mounts idle past their timeout end; use is recorded for the console now and then. */
export async function sweepMounts(ctx: MoverContext, now = Date.now()): Promise<void> {
  const mounts = new GuestMounts(ctx.db);
  for (const [id, m] of [...open]) {
    if (now - m.lastUsed >= m.row.idleTimeoutMs) {
      await endMount(ctx, id, `idle for ${Math.round(m.row.idleTimeoutMs / 60_000) || '<1'} min`);
      continue;
    }
    if (m.lastUsed > m.lastRecorded && now - m.lastRecorded >= 30_000) {
      m.lastRecorded = m.lastUsed;
      await mounts.touch(id, new Date(m.lastUsed));
    }
  }
}

/** The mover is stopping: its mounts end with it. */
export async function closeAllMounts(ctx: MoverContext): Promise<void> {
  for (const id of [...open.keys()]) await endMount(ctx, id, 'its mover stopped', true).catch(() => undefined);
}

/** Processes whose command line names `dir` (the appliance's QEMU and guestfish name the mount's socket or overlay there). */
const processesNaming = (dir: string) => processesWhere((cmd) => cmd.includes(dir));

/** Kills what names `dir` and waits until it is gone (at most a few seconds). */
export async function killProcessesNaming(dir: string): Promise<number> {
  const pids = processesNaming(dir);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  for (let i = 0; i < 50 && processesNaming(dir).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  return pids.length;
}

/**
 * At start: what this mover's previous life left of its mounts — appliances still running,
 * sockets, overlays, folders — is removed, and the mounts still live are ended (nobody could
 * use them: their export died with that process).
 */
export async function settleMounts(ctx: MoverContext): Promise<void> {
  const mounts = new GuestMounts(ctx.db);
  const root = join(ctx.workDir ?? DEFAULT_WORK_DIR, 'mounts');
  const folders = new Set((await readdir(root).catch(() => [] as string[])).map((n) => join(root, n)));
  for (const row of await mounts.ofMover(ctx.moverId)) {
    if (open.has(row.id)) continue;
    if (row.scratchDir) folders.add(row.scratchDir);
    await mounts.finish(row.id, { state: 'stopped', reason: 'its mover restarted', interrupted: true });
  }
  for (const dir of folders) {
    if ([...open.keys()].some((id) => mountScratch(ctx.workDir, id) === dir)) continue;
    const killed = await killProcessesNaming(dir);
    await rm(dir, { recursive: true, force: true });
    if (killed > 0) ctx.log.info({ dir, killed }, 'removed an appliance a previous life of this mover left');
  }
}
