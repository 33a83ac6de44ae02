import { activeFullToday, messageOf, type MoverId } from '@strongbox/core';
import { jobSelect, Movers, specOf, whileDbAway, type UnitHandle } from '@strongbox/db';
import { connectionUri, LibvirtConnector, runJanitor, type BackupView, type HypervisorConnector } from '@strongbox/hypervisors';
import { backupDisk, Throttle } from '@strongbox/pipeline';
import type { Payload } from '@strongbox/queue';
import { Repository, type BlockSize, type PointWriter } from '@strongbox/repository';
import { DiskProgress } from './disk-progress.js';
import { asSentence, explainFailure } from './explain.js';
import { crashAt, type MoverContext } from './mover-context.js';

async function loadVm(ctx: MoverContext, jobId: string | null, vmId: string) {
  if (!jobId) throw new Error('the job of this session was deleted');
  const jobRow = await ctx.db.backupJob.findUniqueOrThrow({ where: { id: jobId }, select: jobSelect });
  const spec = specOf(jobRow);
  const [vm, repoRow, connection] = await Promise.all([
    ctx.db.vm.findUniqueOrThrow({ where: { id: vmId }, select: { id: true, name: true, externalId: true } }),
    ctx.db.backupRepository.findUniqueOrThrow({ where: { id: spec.repositoryId } }),
    ctx.db.hypervisorConnection.findUniqueOrThrow({ where: { id: spec.connectionId } }),
  ]);
  return { jobRow, spec, vm, repoRow, connection };
}

/**
 * One VM on this mover: a consistent view from the connector, each of the VM's disks
 * through the pipeline into one restore point, the manifest last, the view released
 * always, then the point published with the unit's result. A stale message (the unit was
 * taken back from this mover, retried or stopped since) does nothing.
 */
export async function runVm(ctx: MoverContext, payload: Payload<'vm.run'>, signal: AbortSignal): Promise<void> {
  const { runs, log } = ctx;
  const unit: UnitHandle = { sessionId: payload.sessionId, unit: payload.unit, attempt: payload.attempt, moverId: ctx.moverId as MoverId };
  const opened = await runs.mover.open(unit);
  if (!opened) return;
  let loaded: Awaited<ReturnType<typeof loadVm>>;
  try {
    loaded = await whileDbAway(() => loadVm(ctx, opened.session.jobId, payload.unit));
  } catch (error) {
    // The job, VM or repository went away between grant and start: the VM fails, with why.
    await runs.mover.fail(unit, { cancelled: false, reason: messageOf(error) });
    await runs.log(payload.sessionId, 'error', `cannot start: ${messageOf(error)}`);
    return;
  }
  const { jobRow, spec, vm, repoRow, connection } = loaded;
  const say = (level: 'info' | 'warning' | 'error', message: string, taskId?: string) => runs.log(payload.sessionId, level, `${vm.name}: ${message}`, taskId);
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal.reason instanceof Error ? signal.reason : new Error('the mover is shutting down'));
  signal.addEventListener('abort', onAbort);

  let view: BackupView | undefined;
  let writer: PointWriter | undefined;
  let connector: HypervisorConnector | undefined;
  let openedRunning = false;
  let warned = false;
  try {
    // A mover that died on this host may still hold the VM's backup job or export.
    for (const action of await runJanitor(ctx.workDir ? { workDir: ctx.workDir } : {})) {
      await say('warning', `released what an earlier run left: ${action.did.join('; ')}`);
    }
    const uri = connectionUri(connection.uri, connection.sshKeyPath);
    connector = ctx.connect ? await ctx.connect(uri, ctx.workDir) : await LibvirtConnector.connect({ uri, ...(ctx.workDir ? { workDir: ctx.workDir } : {}) });
    const blockSize = (spec.options.blockSizeKiB * 1024) as BlockSize;
    // The first backup into a new repository folder lays out its store; several at once agree on one.
    const repo = await Repository.openOrCreate(repoRow.path, { blockSize });
    await whileDbAway(() => new Movers(ctx.db).seesRepository(ctx.moverId, repoRow.id));
    const points = await repo.listPoints(vm.externalId);
    for (const found of await runs.mover.catalogMissing(repoRow.id, vm, points)) {
      await say('warning', `restore point of ${found.time} was in the repository but not in the catalog (its mover stopped before recording it): recorded now`);
    }
    const last = points.at(-1);
    const lastCheckpoint = typeof last?.job?.checkpoint === 'string' ? last.job.checkpoint : null;
    const full = activeFullToday(spec.options.activeFull, new Date(), spec.timeZone);
    if (full) await say('info', 'active full today: reading every disk whole');
    view = await connector.openBackup({
      vm: vm.externalId,
      // An active full keeps the last point's checkpoint until its own point is committed.
      sinceCheckpoint: lastCheckpoint,
      readWhole: full,
      quiesce: spec.options.applicationAware,
      requireQuiesce: spec.options.requireSuccessfulProcessing,
    });
    openedRunning = view.vm.power === 'running';
    crashAt(ctx, 'vm:after-open');
    for (const line of view.log) {
      await say(line.level, line.message);
      if (line.level !== 'info') warned = true;
    }
    const incremental = view.base !== null && view.base === lastCheckpoint && last !== undefined;
    writer = await repo.beginPoint({
      vmId: vm.externalId,
      kind: incremental ? 'incremental' : 'full',
      parent: incremental ? last.id : null,
      config: view.configXml,
      job: { jobId: jobRow.id, sessionId: payload.sessionId, vmName: vm.name, checkpoint: view.checkpoint, base: view.base, consistency: view.consistency },
      blockSize,
      codec: spec.options.compression,
    });
    const throttle = new Throttle(null);
    for (const task of opened.tasks) {
      const disk = view.disks.find((d) => d.target === task.diskName);
      if (!disk) throw Object.assign(new Error(`disk ${task.diskName} is no longer on the VM; rescan the inventory`), { code: 'DISK_GONE' });
      await runs.mover.startDisk(unit, task.id, disk.mode);
      await say('info', `${disk.target}: ${disk.mode === 'changed' ? 'reading changed blocks only (CBT)' : 'reading the whole disk'}`, task.id);
      const progress = new DiskProgress(runs, unit, task.id, () => runs.mover.writeRateShare(repoRow.id), throttle, stop, log);
      await progress.splitRate();
      const reader = await view.openReader(disk.target);
      try {
        const onProgress = (p: Parameters<typeof progress.report>[0]) => {
          progress.report(p);
          if (p.bytesRead > 0) crashAt(ctx, 'vm:mid-read');
        };
        const { stats } = await backupDisk(writer, disk.target, reader, { onProgress, throttle, signal: stop.signal });
        progress.report(stats);
        await progress.flush();
      } finally {
        await reader.close();
      }
      // The disk's own interval: the task stays running until the point is committed.
      await runs.mover.finishDisk(unit, task.id);
    }
    crashAt(ctx, 'vm:before-commit');
    const manifest = await writer.commit();
    writer = undefined;
    // The point exists from here on: the view is released as a success whatever comes next,
    // but only once the catalog has the point, so that the older checkpoint goes last.
    const committed = view;
    view = undefined;
    const point = {
      repositoryId: repoRow.id,
      vmId: vm.id,
      vmName: vm.name,
      jobId: jobRow.id,
      time: new Date(manifest.time),
      kind: manifest.kind,
      path: manifest.id,
      disks: manifest.disks,
    };
    let current: boolean;
    try {
      // A crash from here on keeps the new checkpoint: the point that names it exists.
      await committed.committed();
      crashAt(ctx, 'vm:after-commit');
      ({ current } = await runs.mover.publishPoint(unit, point, warned ? 'warning' : 'success'));
      crashAt(ctx, 'vm:after-publish');
    } finally {
      await committed.release('success');
    }
    await say(
      warned ? 'warning' : 'info',
      `${manifest.kind} restore point of ${manifest.time} made${current ? '' : ' (after the controller took this VM back)'}`,
    );
  } catch (error) {
    if (writer) await writer.abort().catch((e: unknown) => log.error({ err: e }, 'abort of the restore point failed'));
    if (view) await view.release('failure').catch((e: unknown) => log.error({ err: e }, 'release of the backup view failed'));
    // A user's stop (or the unit taken back) is a cancel; a mover shutting down or a job timeout is a failure the job's retries may take up.
    const cause = stop.signal.aborted ? stop.signal.reason : error;
    const byUser = stop.signal.aborted && !signal.aborted;
    if (byUser) {
      await runs.mover.fail(unit, { cancelled: true, reason: messageOf(cause) });
      await say('warning', `cancelled: ${messageOf(cause)}`);
    } else {
      const stoppedUnder = openedRunning && connector ? await stoppedSince(connector, vm.externalId) : false;
      const explained = explainFailure(cause, { vmStoppedMidBackup: stoppedUnder });
      log.error({ err: cause, sessionId: payload.sessionId, vm: vm.name }, 'VM failed');
      await runs.mover.fail(unit, { cancelled: false, reason: asSentence(explained) });
      await say('error', `failed: ${asSentence(explained)}`);
      if (messageOf(cause) !== explained.reason) await say('info', `detail: ${messageOf(cause)}`);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Whether the VM is not running now (it was when its view opened): asked after a failure, an error asking is no. */
async function stoppedSince(connector: HypervisorConnector, vm: string): Promise<boolean> {
  try {
    return (await connector.getVm(vm)).power !== 'running';
  } catch {
    return false; // the failure's own error explains it better than a second one would
  }
}
