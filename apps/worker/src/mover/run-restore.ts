import { planRollback, messageOf, type FileRestoreResult, type MoverId, type RestoreResult } from '@strongbox/core';
import { restoreRequestOf, type ResolvedRestore, type RestoreSessionRequest, type UnitHandle } from '@strongbox/db';
import { connectionUri, LibvirtConnector, type ImageFormat, type RestoredDisk } from '@strongbox/hypervisors';
import { NbdClient, NbdDiskWriter } from '@strongbox/nbd';
import {
  differingBlocks,
  dirtyBlocks,
  restoreDiskToNbd,
  Throttle,
  union as unionBlocks,
  type BlockSet,
  type Progress,
  type RestoreProgress,
  type RestoreToNbdResult,
} from '@strongbox/pipeline';
import type { Payload } from '@strongbox/queue';
import { Repository, type PointReader } from '@strongbox/repository';
import { DiskProgress } from './disk-progress.js';
import { asSentence, explainFailure } from './explain.js';
import { startInstantRecovery } from './instant.js';
import { crashAt, type MoverContext } from './mover-context.js';
import { restoreGuestFiles } from './restore-files.js';
import { RestoreJournal, undoJournal } from './restore-journal.js';

type Task = { id: string; diskName: string | null };
type Say = (level: 'info' | 'warning' | 'error', message: string, taskId?: string) => Promise<void>;

/** What every kind of restore has at hand once the unit is open. */
export type RestoreRun = {
  ctx: MoverContext;
  unit: UnitHandle;
  tasks: Task[];
  spec: RestoreSessionRequest;
  resolved: ResolvedRestore;
  connector: LibvirtConnector;
  reader: PointReader;
  journal: RestoreJournal;
  stop: AbortController;
  throttle: Throttle;
  say: Say;
};

const GiB = 2 ** 30;
const size = (bytes: number) => (bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.ceil(bytes / 2 ** 20)} MiB`);
const stamp = (iso: string) => iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/**
 * A restore's figures as the session page shows a backup's: what it read from the
 * repository is what it wrote (zero blocks included, as holes or zeroes); the repository's
 * read-rate limit is the bottleneck while it holds the restore back, else the target.
 */
export function restoreFigures(p: RestoreProgress, throttle: Throttle, throttledMs: number): Progress {
  return {
    bytesRead: p.bytesDone,
    bytesProcessed: p.bytesDone,
    bytesTransferred: p.bytesDone,
    bytesWritten: p.bytesDone,
    totalBytes: p.totalBytes,
    rate: p.rate,
    throttledMs,
    busy: { source: 0, proxy: 0, network: 0, target: 0 },
    bottleneck: throttle.holding ? 'throttling' : 'target',
  };
}

/** The image file name of a restored disk: the VM's name, the disk, the format. */
export const imageName = (vm: string, disk: string, format: string) => `${vm}-${disk}.${format}`;

/**
 * One restore on this mover: the point opened from the repository, the target checked
 * again (a name taken since the request, a pool that filled up) before the first write,
 * every disk written through an NBD export of its image (sparse, one flush at the end),
 * then the VM defined or updated. What the restore makes is journaled before it is made,
 * and undone when the restore fails, is stopped, or its process dies (the next start's
 * janitor reads the journal): a failed restore leaves no half-defined VM and no partial
 * image. An in-place restore that fails says so in the session and on the VM's row.
 */
export async function runRestore(ctx: MoverContext, payload: Payload<'restore.run'>, signal: AbortSignal): Promise<void> {
  const { runs, log } = ctx;
  const unit: UnitHandle = { sessionId: payload.sessionId, unit: payload.unit, attempt: payload.attempt, moverId: ctx.moverId as MoverId };
  const opened = await runs.mover.open(unit);
  if (!opened) return;
  const row = await ctx.db.session.findUniqueOrThrow({ where: { id: payload.sessionId }, select: { request: true } });
  const spec = restoreRequestOf(row.request);
  const { resolved } = spec;
  const say: Say = async (level, message, taskId) => {
    await runs.log(payload.sessionId, level, message, taskId);
  };
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal.reason instanceof Error ? signal.reason : new Error('the mover is shutting down'));
  signal.addEventListener('abort', onAbort);
  const uri = connectionUri(resolved.connection.uri, resolved.connection.sshKeyPath);
  let journal: RestoreJournal | undefined;
  let reader: PointReader | undefined;
  let connector: LibvirtConnector | undefined;
  let wroteInPlace = false;
  try {
    connector = await LibvirtConnector.connect({ uri, ...(ctx.workDir ? { workDir: ctx.workDir } : {}) });
    await undoUnfinishedRestores(ctx, connector);
    const repo = await Repository.open(resolved.point.repositoryPath);
    reader = await repo.openPoint(resolved.point.path);
    journal = await RestoreJournal.begin(ctx.workDir, payload.sessionId, uri);
    const run: RestoreRun = {
      ctx,
      unit,
      tasks: opened.tasks.map((t) => ({ id: t.id, diskName: t.diskName })),
      spec,
      resolved,
      connector,
      reader,
      journal,
      stop,
      throttle: new Throttle(null),
      say,
    };
    let result: RestoreResult | FileRestoreResult;
    switch (spec.request.kind) {
      case 'vm-new':
        result = await restoreAsNewVm(run, spec.request);
        break;
      case 'vm-original':
        wroteInPlace = true;
        result = await restoreInPlace(run, spec.request);
        break;
      case 'disks':
        wroteInPlace = spec.request.to.mode === 'replace';
        result = await restoreDisks(run, spec.request);
        break;
      case 'instant':
        result = await startInstantRecovery(run, spec.request);
        break;
      case 'files':
        result = await restoreGuestFiles(run, spec.request);
        break;
    }
    crashAt(ctx, 'restore:before-finish');
    await journal.done();
    journal = undefined;
    if (resolved.targetVm && wroteInPlace) await runs.mover.markRestoreFailure(resolved.targetVm.id, null);
    await runs.mover.finishUnit(unit, { status: 'success', result });
    await say('info', `restore complete: ${result.target}`);
  } catch (error) {
    const cause = stop.signal.aborted ? stop.signal.reason : error;
    const byUser = stop.signal.aborted && !signal.aborted;
    if (journal && connector) {
      const c = connector;
      const did = await undoJournal(journal.entries, undoer(c), undefined).catch((e: unknown) => [`cleanup failed: ${messageOf(e)}`]);
      await journal.done();
      if (did.length > 0) await say('warning', `removed what the restore had made: ${did.join('; ')}`);
    }
    const explained = explainFailure(cause, { vmStoppedMidBackup: false });
    if (wroteInPlace && resolved.targetVm) {
      const what = `the ${byUser ? 'stopped' : 'failed'} in-place restore from the point of ${resolved.point.time} left its disks partly written: restore it again`;
      await runs.mover.markRestoreFailure(resolved.targetVm.id, what);
      await say('error', `${resolved.targetVm.name}: ${what}`);
    }
    log.error({ err: cause, sessionId: payload.sessionId }, 'restore failed');
    await runs.mover.fail(unit, { cancelled: byUser, reason: asSentence(explained) });
    await say(byUser ? 'warning' : 'error', `${byUser ? 'cancelled' : 'failed'}: ${asSentence(explained)}`);
  } finally {
    signal.removeEventListener('abort', onAbort);
    await reader?.close();
  }
}

/** Idempotent removals the journal's undo needs. */
export function undoer(connector: LibvirtConnector) {
  return {
    destroyAndUndefine: async (name: string) => {
      await connector.destroyVm(name).catch(() => undefined);
      await connector.undefineVm(name);
    },
    deleteVolume: (pool: string, name: string) => connector.deleteVolume(pool, name),
  };
}

/** Journals of restores whose process died on this host: what they made is removed. */
export async function undoUnfinishedRestores(ctx: MoverContext, connector?: LibvirtConnector): Promise<void> {
  for (const { file, entries } of await RestoreJournal.unfinished(ctx.workDir)) {
    const c =
      connector && connector.virsh.uri === entries.uri
        ? connector
        : await LibvirtConnector.connect({ uri: entries.uri, ...(ctx.workDir ? { workDir: ctx.workDir } : {}) });
    const did = await undoJournal(entries, undoer(c), file);
    ctx.log.warn({ sessionId: entries.sessionId, did }, 'removed what a dead restore had made');
    await ctx.runs.log(entries.sessionId, 'warning', `the mover restarted: removed what the interrupted restore had made (${did.join('; ') || 'nothing yet'})`);
  }
}

/** A VM's disk format as the export takes it: qcow2 or raw, nothing else is written to. */
function formatOf(format: string): ImageFormat {
  if (format === 'qcow2' || format === 'raw') return format;
  throw new Error(`the VM's disk is ${format}: only qcow2 and raw disks are restored in place`);
}

/** A task per disk: its row, by the point's disk name. */
function taskOf(run: RestoreRun, disk: string): Task {
  const task = run.tasks.find((t) => t.diskName === disk);
  if (!task) throw new Error(`the session has no task for disk ${disk}`);
  return task;
}

/** The pool still has room for the disks' data (sparse images hold only that), checked before the first write. */
async function checkPoolRoom(run: RestoreRun, poolName: string, disks: readonly { dataBytes: number }[]): Promise<void> {
  const pools = await run.connector.listPools();
  const pool = pools.find((p) => p.name === poolName);
  if (!pool) throw new Error(`storage pool ${poolName} is gone from the connection`);
  const needed = disks.reduce((n, d) => n + d.dataBytes, 0);
  if (pool.availableBytes !== null && pool.availableBytes < needed)
    throw new Error(`storage pool ${poolName} has ${size(pool.availableBytes)} free now, the disks need ${size(needed)}: nothing was written`);
}

/**
 * Writes one disk of the point to an image through an NBD export of it, with the task's
 * figures every second. `fresh`: the image is new (zero blocks stay unallocated);
 * otherwise zero blocks are written as zeroes so that old data cannot show through.
 */
async function writeDisk(
  run: RestoreRun,
  disk: string,
  image: RestoredDisk,
  opts: { fresh: boolean; only?: BlockSet; owned?: { pool: string; name: string } },
): Promise<RestoreToNbdResult> {
  const task = taskOf(run, disk);
  await run.ctx.runs.mover.startDisk(run.unit, task.id, opts.only ? 'changed' : 'allocated');
  const progress = new DiskProgress(
    run.ctx.runs,
    run.unit,
    task.id,
    () => run.ctx.runs.mover.readRateShare(run.resolved.point.repositoryId),
    run.throttle,
    run.stop,
    run.ctx.log,
  );
  await progress.splitRate();
  const exported = await run.connector.openImageExport(image.path, image.format, opts.owned ? { ownedVolume: opts.owned } : {});
  try {
    const client = await NbdClient.connect({ endpoint: exported.endpoint, exportName: exported.exportName, connections: 4 });
    try {
      let last: RestoreProgress = { bytesDone: 0, totalBytes: run.reader.disk(disk).size, rate: 0 };
      const result = await restoreDiskToNbd(run.reader, disk, new NbdDiskWriter(client), {
        zeroBlocks: opts.fresh ? 'skip' : 'write-zeroes',
        ...(opts.only ? { only: (b: number) => opts.only!.has(b) } : {}),
        throttle: run.throttle,
        signal: run.stop.signal,
        onProgress: (p) => {
          last = p;
          progress.report(restoreFigures(p, run.throttle, 0));
          if (p.bytesDone > 0) crashAt(run.ctx, 'restore:mid-write');
        },
      });
      progress.report(restoreFigures({ ...last, bytesDone: last.totalBytes }, run.throttle, result.throttledMs));
      await progress.flush();
      return result;
    } finally {
      await client.close();
    }
  } finally {
    await exported.close();
    await run.ctx.runs.mover.finishDisk(run.unit, task.id);
  }
}

const sum = (
  results: readonly RestoreToNbdResult[],
  started: number,
  restore: RestoreResult['restore'],
  target: string,
  mode: RestoreResult['mode'],
  why?: string,
): RestoreResult => ({
  restore,
  target,
  mode,
  ...(why ? { why } : {}),
  blocksWritten: results.reduce((n, r) => n + r.blocksWritten, 0),
  blocksZeroed: results.reduce((n, r) => n + r.blocksZeroed, 0),
  blocksSkipped: results.reduce((n, r) => n + r.blocksSkipped, 0),
  bytesWritten: results.reduce((n, r) => n + r.bytes, 0),
  durationMs: Date.now() - started,
});

/** New images in a pool, one per disk, written sparse; the paths by disk name. */
async function writeNewImages(run: RestoreRun, pool: string, format: 'qcow2' | 'raw', baseName: string) {
  await checkPoolRoom(run, pool, run.resolved.disks);
  const images = new Map<string, RestoredDisk>();
  const results: RestoreToNbdResult[] = [];
  for (const d of run.resolved.disks) {
    const name = imageName(baseName, d.name, format);
    await run.journal.volume(pool, name);
    // Sparse images need room for the data only.
    const { path } = await run.connector.createVolume(pool, name, d.size, format, d.dataBytes);
    images.set(d.name, { path, format });
    await run.say('info', `${d.name}: writing ${size(d.dataBytes)} of data (${size(d.size)} disk) to ${name} in pool ${pool}`, taskOf(run, d.name).id);
    const r = await writeDisk(run, d.name, { path, format }, { fresh: true, owned: { pool, name } });
    results.push(r);
    await run.say('info', `${d.name}: ${r.blocksWritten} block(s) written, ${r.blocksSkipped} zero block(s) left unallocated`, taskOf(run, d.name).id);
  }
  return { images, results };
}

async function restoreAsNewVm(run: RestoreRun, request: Extract<RestoreSessionRequest['request'], { kind: 'vm-new' }>): Promise<RestoreResult> {
  const started = Date.now();
  if (await run.connector.vmExists(request.name)) throw new Error(`a VM named ${request.name} exists on the host now: nothing was written`);
  const config = run.reader.manifest.config;
  if (!config) throw new Error('the point carries no VM configuration: restore its disks instead');
  const { images, results } = await writeNewImages(run, request.pool, request.format, request.name);
  crashAt(run.ctx, 'restore:before-define');
  await run.journal.vm(request.name);
  await run.connector.defineRestoredVm({ configXml: config, name: request.name, disks: images, networks: request.networks, keepIdentity: false });
  await run.say('info', `VM ${request.name} defined (new UUID and MAC addresses${request.networks === 'disconnected' ? ', network disconnected' : ''})`);
  if (request.powerOn) {
    await run.connector.startVm(request.name);
    await run.say('info', `VM ${request.name} powered on`);
  }
  return sum(results, started, 'vm-new', `VM ${request.name}`, 'full');
}

/**
 * Over the original VM's own disks. Quick rollback when the VM still carries the
 * checkpoint of its latest point: only the blocks dirty since it (libvirt's bitmap) and
 * those whose digests differ between the chosen and the latest point can differ from
 * the chosen point, and only those are written. The VM's checkpoints are dropped after:
 * the next backup of it is a full, from the disks as they now are.
 */
async function restoreInPlace(run: RestoreRun, request: Extract<RestoreSessionRequest['request'], { kind: 'vm-original' }>): Promise<RestoreResult> {
  const started = Date.now();
  const target = run.resolved.targetVm!;
  let vm = await run.connector.getVm(target.externalId);
  if (vm.power !== 'stopped') {
    await run.say('warning', `${vm.name} is ${vm.power}: powering it off, as confirmed`);
    await run.connector.destroyVm(vm.name);
    vm = await run.connector.getVm(target.externalId);
  }
  const plan = await planInPlace(run, vm.name, request.quickRollback);
  await run.say(
    plan.mode === 'quick' ? 'info' : 'warning',
    plan.mode === 'quick' ? `quick rollback: the VM has checkpoint ${plan.checkpoint} of its latest point` : `every block is written: ${plan.why}`,
  );
  const results: RestoreToNbdResult[] = [];
  for (const d of run.resolved.disks) {
    const current = vm.disks.find((x) => x.target === d.name);
    if (!current) throw new Error(`the VM no longer has disk ${d.name}`);
    if (current.sizeBytes !== d.size)
      throw new Error(`disk ${d.name} is ${size(current.sizeBytes)} now and ${size(d.size)} in the point: restore it as a virtual disk`);
    const taskId = taskOf(run, d.name).id;
    let only: BlockSet | undefined;
    if (plan.mode === 'quick') {
      const chosen = run.reader.disk(d.name);
      const latest = plan.latest.disk(d.name);
      const differ = differingBlocks(chosen, latest);
      const dirty = dirtyBlocks(await run.connector.dirtyExtentsSince(vm.name, d.name, plan.checkpoint), chosen.blockSize, chosen.blockCount);
      only = unionBlocks(differ, dirty);
      await run.say(
        'info',
        `${d.name}: ${only.count} of ${chosen.blockCount} block(s) can differ (${dirty.count} written since checkpoint ${plan.checkpoint}, ${differ.count} differ between the points): writing those only`,
        taskId,
      );
    }
    const r = await writeDisk(run, d.name, { path: current.path, format: formatOf(current.format) }, { fresh: false, ...(only ? { only } : {}) });
    results.push(r);
    await run.say(
      'info',
      `${d.name}: ${r.blocksWritten} block(s) written, ${r.blocksZeroed} zeroed${only ? `, ${r.blocksSkipped} left as they were` : ''}`,
      taskId,
    );
  }
  await run.connector.dropAllCheckpoints(vm.name);
  await run.say('info', `${vm.name}: its checkpoints were dropped (the disks changed under them): the next backup of it is a full`);
  if (request.powerOn) {
    await run.connector.startVm(vm.name);
    await run.say('info', `VM ${vm.name} powered on`);
  }
  return sum(results, started, 'vm-original', `VM ${vm.name} (in place)`, plan.mode, plan.mode === 'full' ? plan.why : undefined);
}

type InPlacePlan = { mode: 'full'; why: string } | { mode: 'quick'; checkpoint: string; latest: PointReader };

async function planInPlace(run: RestoreRun, vmName: string, requested: boolean): Promise<InPlacePlan> {
  const latestRow = run.resolved.point.vmId
    ? await run.ctx.db.restorePoint.findFirst({
        where: { vmId: run.resolved.point.vmId, repositoryId: run.resolved.point.repositoryId },
        orderBy: { time: 'desc' },
        select: { id: true, path: true },
      })
    : null;
  const repo = await Repository.open(run.resolved.point.repositoryPath);
  const latest = latestRow ? (latestRow.path === run.reader.id ? run.reader : await repo.openPoint(latestRow.path)) : null;
  const checkpoint = typeof latest?.manifest.job?.checkpoint === 'string' ? latest.manifest.job.checkpoint : null;
  const chosen = run.reader;
  const sameGeometry =
    latest !== null &&
    run.resolved.disks.every((d) => {
      const a = chosen.disk(d.name);
      const b = latest.disks.find((x) => x.name === d.name) ? latest.disk(d.name) : null;
      return b !== null && a.size === b.size && a.blockSize === b.blockSize;
    });
  const decided = planRollback({
    requested,
    latestPoint: latest ? { id: latest.id, checkpoint } : null,
    vmCheckpoints: requested ? await run.connector.checkpointsOf(vmName) : [],
    sameGeometry,
  });
  if (decided.mode === 'full') return decided;
  return { mode: 'quick', checkpoint: decided.checkpoint, latest: latest! };
}

async function restoreDisks(run: RestoreRun, request: Extract<RestoreSessionRequest['request'], { kind: 'disks' }>): Promise<RestoreResult> {
  const started = Date.now();
  const to = request.to;
  const base = `${run.resolved.point.vmName}-restored-${stamp(run.resolved.point.time)}`;
  if (to.mode === 'pool') {
    const { images, results } = await writeNewImages(run, to.pool, to.format, base);
    return sum(results, started, 'disks', `${[...images.values()].map((i) => i.path).join(', ')}`, 'full');
  }
  const target = run.resolved.targetVm!;
  const vm = await run.connector.getVm(target.externalId);
  if (to.mode === 'attach') {
    const { images, results } = await writeNewImages(run, to.pool, to.format, base);
    for (const [disk, image] of images) {
      const { target: dev } = await run.connector.attachDisk(vm.name, image);
      await run.say(
        'info',
        `${disk}: attached to ${vm.name} as ${dev} (in its configuration${vm.power === 'running' ? '; it appears at the next power-on' : ''})`,
      );
    }
    return sum(results, started, 'disks', `VM ${vm.name} (attached)`, 'full');
  }
  if (vm.power !== 'stopped') throw new Error(`${vm.name} is ${vm.power}: power it off to replace its disks (nothing was written)`);
  const results: RestoreToNbdResult[] = [];
  for (const d of run.resolved.disks) {
    const current = vm.disks.find((x) => x.target === d.name);
    if (!current) throw new Error(`the VM has no disk ${d.name}`);
    if (current.sizeBytes < d.size) throw new Error(`disk ${d.name} holds ${size(current.sizeBytes)}, the point's needs ${size(d.size)}`);
    results.push(await writeDisk(run, d.name, { path: current.path, format: formatOf(current.format) }, { fresh: false }));
  }
  await run.connector.dropAllCheckpoints(vm.name);
  return sum(results, started, 'disks', `VM ${vm.name} (disks replaced)`, 'full');
}
