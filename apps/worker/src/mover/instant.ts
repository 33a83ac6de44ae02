import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf, type RestoreResult } from '@strongbox/core';
import { InstantRecoveries, type InstantDisks, type InstantRecoveryRow, type RestoreSessionRequest } from '@strongbox/db';
import { DEFAULT_WORK_DIR, LibvirtConnector, type RestoredDisk } from '@strongbox/hypervisors';
import { NbdServer } from '@strongbox/nbd';
import { PointDiskSource } from '@strongbox/pipeline';
import type { Payload } from '@strongbox/queue';
import { Repository, type PointReader } from '@strongbox/repository';
import type { MoverContext } from './mover-context.js';
import type { RestoreRun } from './run-restore.js';
import { imageName } from './run-restore.js';

/**
 * Instant VM recovery on this mover: an NBD server in this process serves the point's
 * disks read-only straight from the repository; each disk of the VM is a qcow2 overlay on
 * the mover's host whose backing file is that export (QEMU's NBD client, reconnecting), so
 * the VM runs within seconds whatever its size and its writes stay in the overlays.
 *
 * The export lives as long as this process. After a restart it is *not* served again: the
 * VM's QEMU does not reconnect (libvirt 9.0 rebuilds the backing chain itself and drops
 * the NBD node's `reconnect-delay`, so QEMU's client fails every read once the connection
 * is gone). Such a recovery is marked broken, with why and what to do: stop publishing
 * removes the VM and its overlays, and a new instant recovery starts it again. Decided and
 * tested in apps/worker/test/restores.int.test.ts.
 */
type Served = { server: NbdServer; sources: PointDiskSource[]; reader: PointReader; timer: NodeJS.Timeout };
const served = new Map<string, Served>();

const socketOf = (scratchDir: string) => join(scratchDir, 'nbd.sock');
export const instantScratch = (workDir: string | undefined, id: string) => join(workDir ?? DEFAULT_WORK_DIR, 'instant', id);

async function serve(ctx: MoverContext, id: string, repositoryPath: string, pointPath: string, scratchDir: string, disks: readonly string[]): Promise<Served> {
  const repo = await Repository.open(repositoryPath);
  const reader = await repo.openPoint(pointPath);
  // A VM's disks share the cache budget: 256 MiB of decoded blocks in all.
  const sources = disks.map((d) => new PointDiskSource(reader.disk(d), { cacheBytes: Math.floor((256 * 2 ** 20) / disks.length) }));
  const server = await NbdServer.listen({ unix: socketOf(scratchDir) }, new Map(disks.map((d, i) => [d, sources[i]!])), {
    onError: (e: unknown) => ctx.log.warn({ err: e, instantId: id }, 'instant recovery export: a read failed'),
  });
  // QEMU runs as its own user (libvirt-qemu): it must be able to connect.
  await chmod(socketOf(scratchDir), 0o777);
  const recoveries = new InstantRecoveries(ctx.db);
  // The console's "data served" and overlay size, every few seconds.
  const timer = setInterval(() => {
    void (async () => {
      const row = await recoveries.get(id);
      if (!row) return;
      let overlay = 0;
      for (const d of row.disks)
        overlay += await stat(d.overlay).then(
          (s) => s.blocks * 512,
          () => 0,
        );
      const bytesServed = [...server.stats().values()].reduce((n, s) => n + s.bytesServed, 0);
      await recoveries.update(id, ['running', 'migrating', 'starting'], { bytesServed, overlayBytes: overlay });
    })().catch((e: unknown) => ctx.log.warn({ err: e, instantId: id }, 'instant recovery figures not recorded'));
  }, 3000);
  timer.unref();
  const s = { server, sources, reader, timer };
  served.set(id, s);
  return s;
}

async function unserve(id: string): Promise<void> {
  const s = served.get(id);
  if (!s) return;
  served.delete(id);
  clearInterval(s.timer);
  await s.server.close();
  for (const source of s.sources) await source.close();
  await s.reader.close();
}

export async function startInstantRecovery(run: RestoreRun, request: Extract<RestoreSessionRequest['request'], { kind: 'instant' }>): Promise<RestoreResult> {
  const started = Date.now();
  const { ctx, resolved, connector } = run;
  const name = resolved.newVmName!;
  if (await connector.vmExists(name)) throw new Error(`a VM named ${name} exists on the host now`);
  const config = run.reader.manifest.config;
  if (!config) throw new Error('the point carries no VM configuration');
  const recoveries = new InstantRecoveries(ctx.db);
  const row = await recoveries.create({
    sessionId: run.unit.sessionId,
    moverId: ctx.moverId,
    connectionId: resolved.connection.id,
    pointId: resolved.point.id,
    vmName: name,
    scratchDir: '',
  });
  const scratchDir = instantScratch(ctx.workDir, row.id);
  await ctx.db.instantRecovery.update({ where: { id: row.id }, data: { scratchDir } });
  try {
    await run.journal.dir(scratchDir);
    await mkdir(scratchDir, { recursive: true, mode: 0o755 });
    await chmod(scratchDir, 0o755);
    const diskNames = resolved.disks.map((d) => d.name);
    await serve(ctx, row.id, resolved.point.repositoryPath, resolved.point.path, scratchDir, diskNames);
    await run.say('info', `serving ${diskNames.length} disk(s) of the point read-only over NBD at ${socketOf(scratchDir)}`);
    const disks: InstantDisks = [];
    const images = new Map<string, RestoredDisk>();
    for (const d of resolved.disks) {
      const task = run.tasks.find((t) => t.diskName === d.name)!;
      await ctx.runs.mover.startDisk(run.unit, task.id, 'instant');
      const overlay = await connector.createNbdOverlay(scratchDir, `${d.name}.qcow2`, {
        socketPath: socketOf(scratchDir),
        exportName: d.name,
        sizeBytes: d.size,
      });
      disks.push({ name: d.name, exportName: d.name, overlay, size: d.size });
      images.set(d.name, { path: overlay, format: 'qcow2' });
      await ctx.runs.mover.finishDisk(run.unit, task.id);
    }
    await recoveries.update(row.id, ['starting'], { disks });
    await run.journal.vm(name);
    await connector.defineRestoredVm({ configXml: config, name, disks: images, networks: request.networks, keepIdentity: false });
    await connector.startVm(name);
    await recoveries.update(row.id, ['starting'], { state: 'running', runningAt: new Date() });
    await run.say(
      'info',
      `VM ${name} is running from the point (${((Date.now() - started) / 1000).toFixed(1)} s after the restore began); its writes go to overlays on the mover's host`,
    );
  } catch (error) {
    await unserve(row.id);
    await recoveries.update(row.id, ['starting', 'running'], { state: 'stopped', error: messageOf(error), endedAt: new Date() });
    throw error;
  }
  return {
    restore: 'instant',
    target: `VM ${name} (instant recovery)`,
    mode: 'full',
    blocksWritten: 0,
    blocksZeroed: 0,
    blocksSkipped: 0,
    bytesWritten: 0,
    durationMs: Date.now() - started,
  };
}

async function connectorFor(ctx: MoverContext, row: InstantRecoveryRow): Promise<LibvirtConnector> {
  const c = await ctx.db.hypervisorConnection.findUniqueOrThrow({ where: { id: row.connectionId }, select: { uri: true } });
  return LibvirtConnector.connect({ uri: c.uri, ...(ctx.workDir ? { workDir: ctx.workDir } : {}) });
}

/** Removes the VM, its overlays and the export: nothing of the recovery is left. */
async function removeRecovery(ctx: MoverContext, row: InstantRecoveryRow, connector: LibvirtConnector): Promise<void> {
  await connector.destroyVm(row.vmName).catch(() => undefined);
  await connector.undefineVm(row.vmName);
  await unserve(row.id);
  if (row.scratchDir) await rm(row.scratchDir, { recursive: true, force: true });
}

/** Migrate to production or stop publishing, as the console asked. */
export async function instantAction(ctx: MoverContext, payload: Payload<'instant.action'>): Promise<void> {
  const recoveries = new InstantRecoveries(ctx.db);
  const row = await recoveries.get(payload.instantId);
  if (!row || row.moverId !== ctx.moverId) return;
  const log = (level: 'info' | 'warning' | 'error', message: string) => ctx.runs.log(row.sessionId, level, `${row.vmName}: ${message}`);
  const connector = await connectorFor(ctx, row);
  if (payload.action === 'stop') {
    if (row.state !== 'stopping') return;
    try {
      await removeRecovery(ctx, row, connector);
      await recoveries.update(row.id, ['stopping'], { state: 'stopped', endedAt: new Date() });
      await log('info', `publishing stopped by ${payload.by}: the VM, its overlays and the export were removed`);
    } catch (error) {
      await recoveries.update(row.id, ['stopping'], { state: 'broken', error: `stop publishing failed: ${messageOf(error)}` });
      await log('error', `stop publishing failed: ${messageOf(error)}`);
    }
    return;
  }
  if (row.state !== 'migrating') return;
  const pool = payload.pool!;
  const format = payload.format ?? 'qcow2';
  const made: string[] = [];
  try {
    await log('info', `migrating to production (pool ${pool}, ${format}), asked by ${payload.by}: the VM keeps running`);
    for (const d of row.disks) {
      const name = imageName(row.vmName, d.name, format);
      const { path } = await connector.createVolume(pool, name, d.size, format);
      made.push(name);
      await connector.blockCopyToPool(row.vmName, d.name, path, format);
      await log('info', `${d.name}: copied to ${path} and pivoted`);
    }
    await unserve(row.id);
    if (row.scratchDir) await rm(row.scratchDir, { recursive: true, force: true });
    await recoveries.update(row.id, ['migrating'], { state: 'migrated', endedAt: new Date() });
    await log('info', 'migrated: the VM runs on its disks in the pool; the export and the overlays are gone');
  } catch (error) {
    // The VM still runs from the export: the recovery stays running, the images that were begun go.
    for (const name of made) await connector.deleteVolume(pool, name).catch(() => undefined);
    await recoveries.update(row.id, ['migrating'], { state: 'running', error: `migration failed: ${messageOf(error)}` });
    await log('error', `migration failed, the VM still runs from the restore point: ${messageOf(error)}`);
  }
}

/**
 * After a restart: a recovery caught starting or stopping is removed now (its VM, overlays
 * and scratch folder); one that was running or migrating is broken — its export died with
 * the process and the VM's QEMU does not reconnect — with why and what to do.
 */
export async function resumeInstantRecoveries(ctx: MoverContext): Promise<void> {
  const recoveries = new InstantRecoveries(ctx.db);
  for (const row of await recoveries.ofMover(ctx.moverId)) {
    if (served.has(row.id) || row.state === 'broken') continue;
    if (row.state === 'starting' || row.state === 'stopping') {
      try {
        await removeRecovery(ctx, row, await connectorFor(ctx, row));
        await recoveries.update(row.id, [row.state], {
          state: 'stopped',
          endedAt: new Date(),
          error: row.state === 'starting' ? 'its mover restarted while it started' : null,
        });
      } catch (error) {
        await recoveries.update(row.id, [row.state], { state: 'broken', error: `its mover restarted and could not remove it: ${messageOf(error)}` });
      }
      continue;
    }
    const why =
      'its mover restarted: the export the VM read its disks from ended with the old process, and QEMU does not reconnect to a new one. ' +
      'Stop publishing to remove the VM and its overlays (what the guest wrote since the recovery is lost), then start a new instant recovery';
    if (await recoveries.update(row.id, ['running', 'migrating'], { state: 'broken', error: why })) {
      await ctx.runs.log(row.sessionId, 'error', `${row.vmName}: ${why}`);
    }
  }
}

/** The mover is stopping: its exports end with it (they are served again at its next start). */
export async function closeInstantServers(): Promise<void> {
  for (const id of [...served.keys()]) await unserve(id);
}
