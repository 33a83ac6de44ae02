import type { Logger } from 'pino';
import { toLocal } from '@strongbox/core';
import { RunRepository, specOf, jobSelect, type PrismaClient } from '@strongbox/db';
import { LibvirtConnector, runJanitor, type BackupView, type HypervisorConnector } from '@strongbox/hypervisors';
import { backupDisk, Throttle } from '@strongbox/pipeline';
import type { Payload } from '@strongbox/queue';
import { Repository, type BlockSize, type PointWriter } from '@strongbox/repository';
import { connectionUri } from '../controller/rescan.js';
import { TaskProgress } from './task-progress.js';

export type MoverContext = {
  db: PrismaClient;
  moverId: string;
  log: Logger;
  /** Where libvirt job state lives; the janitor cleans what dead movers left in it. */
  workDir?: string | undefined;
  connect?: (uri: string, workDir: string | undefined) => Promise<HypervisorConnector>;
};

/**
 * The repository at `path`, made when the folder is new or empty (the default one is):
 * the first backup of several running at once creates it, the others open it.
 */
export function openRepository(path: string, blockSize?: BlockSize): Promise<Repository> {
  return Repository.openOrCreate(path, blockSize ? { blockSize } : {});
}

type ActiveFull = ReturnType<typeof specOf>['options']['activeFull'];

function activeFullToday(rule: ActiveFull, now: Date, timeZone: string): boolean {
  if (rule.kind === 'never') return false;
  const local = toLocal(now, timeZone);
  if (rule.kind === 'weekly') return local.weekday === rule.weekday;
  const last = new Date(Date.UTC(local.year, local.month, 0)).getUTCDate();
  return rule.day === 'last' ? local.day === last : local.day === Math.min(rule.day, last);
}

async function loadUnit(db: PrismaClient, payload: Payload<'task.run'>) {
  const session = await db.session.findUniqueOrThrow({ where: { id: payload.sessionId }, select: { jobId: true } });
  if (!session.jobId) throw new Error('the job of this session was deleted');
  const jobRow = await db.backupJob.findUniqueOrThrow({ where: { id: session.jobId }, select: jobSelect });
  const spec = specOf(jobRow);
  const [vm, repoRow, connection] = await Promise.all([
    db.vm.findUniqueOrThrow({ where: { id: payload.vmId }, select: { id: true, name: true, externalId: true } }),
    db.repository.findUniqueOrThrow({ where: { id: spec.repositoryId } }),
    db.hypervisorConnection.findUniqueOrThrow({ where: { id: spec.connectionId } }),
  ]);
  return { jobRow, spec, vm, repoRow, connection };
}

/**
 * Flow steps 4–6 for one VM on this mover: a consistent view from the connector, each of
 * the VM's disk tasks through the pipeline into one restore point, the manifest last, the
 * view released always. Stale messages (a task taken back from this mover) do nothing.
 */
export async function runVm(ctx: MoverContext, payload: Payload<'task.run'>, shutdown: AbortSignal): Promise<void> {
  const { db, log } = ctx;
  const tasks = await db.task.findMany({
    where: { id: { in: payload.taskIds }, status: 'running', moverId: ctx.moverId, attempt: payload.attempt },
    orderBy: { diskName: 'asc' },
    select: { id: true, diskName: true },
  });
  if (tasks.length === 0) return;
  const runs = new RunRepository(db);
  let unit: Awaited<ReturnType<typeof loadUnit>>;
  try {
    unit = await loadUnit(db, payload);
  } catch (error) {
    // The job, VM or repository went away between grant and start: the VM fails, with why.
    const reason = error instanceof Error ? error.message : String(error);
    await db.task.updateMany({
      where: { id: { in: tasks.map((t) => t.id) }, status: 'running' },
      data: { status: 'failed', endedAt: new Date(), error: reason },
    });
    await runs.log(payload.sessionId, 'error', `cannot start: ${reason}`);
    return;
  }
  const { jobRow, spec, vm, repoRow, connection } = unit;
  const say = (level: 'info' | 'warning' | 'error', message: string, taskId?: string) => runs.log(payload.sessionId, level, `${vm.name}: ${message}`, taskId);
  const stop = new AbortController();
  const onShutdown = () => stop.abort(new Error('the mover is shutting down'));
  shutdown.addEventListener('abort', onShutdown);

  let view: BackupView | undefined;
  let writer: PointWriter | undefined;
  const finished = new Set<string>();
  let warned = false;
  try {
    // A mover that died on this host may still hold the VM's backup job or export.
    for (const action of await runJanitor(ctx.workDir ? { workDir: ctx.workDir } : {})) {
      await say('warning', `released what an earlier run left: ${action.did.join('; ')}`);
    }
    const uri = connectionUri(connection.uri, connection.sshKeyPath);
    const connector = ctx.connect
      ? await ctx.connect(uri, ctx.workDir)
      : await LibvirtConnector.connect({ uri, ...(ctx.workDir ? { workDir: ctx.workDir } : {}) });
    const blockSize = (spec.options.blockSizeKiB * 1024) as BlockSize;
    const repo = await openRepository(repoRow.path, blockSize);
    const points = await repo.listPoints(vm.externalId);
    const last = points.at(-1);
    const lastCheckpoint = typeof last?.job?.checkpoint === 'string' ? last.job.checkpoint : null;
    const full = activeFullToday(spec.options.activeFull, new Date(), spec.timeZone);
    if (full) await say('info', 'active full today: reading every disk whole');
    view = await connector.openBackup({
      vm: vm.externalId,
      sinceCheckpoint: full ? null : lastCheckpoint,
      quiesce: spec.options.applicationAware,
      requireQuiesce: spec.options.requireSuccessfulProcessing,
    });
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
    for (const task of tasks) {
      const disk = view.disks.find((d) => d.target === task.diskName);
      if (!disk) throw Object.assign(new Error(`disk ${task.diskName} is no longer on the VM; rescan the inventory`), { code: 'DISK_GONE' });
      await db.task.update({ where: { id: task.id }, data: { readMode: disk.mode, startedAt: new Date() } });
      await say('info', `${disk.target}: ${disk.mode === 'changed' ? 'reading changed blocks only (CBT)' : 'reading the whole disk'}`, task.id);
      const progress = new TaskProgress(db, task.id, payload.sessionId, repoRow.id, throttle, stop, log);
      await progress.splitRate();
      const reader = await view.openReader(disk.target);
      try {
        const { stats } = await backupDisk(writer, disk.target, reader, { onProgress: progress.report, throttle, signal: stop.signal });
        progress.report(stats);
        await progress.flush();
      } finally {
        await reader.close();
      }
      // The disk's own interval: the task stays running until the point is committed.
      await db.task.update({ where: { id: task.id }, data: { endedAt: new Date() } });
      finished.add(task.id);
    }
    const manifest = await writer.commit();
    writer = undefined;
    await view.release('success');
    view = undefined;
    await db.restorePoint.create({
      data: {
        repositoryId: repoRow.id,
        vmId: vm.id,
        vmName: vm.name,
        jobId: jobRow.id,
        sessionId: payload.sessionId,
        time: new Date(manifest.time),
        kind: manifest.kind,
        path: manifest.id,
        disks: manifest.disks,
      },
    });
    await db.task.updateMany({ where: { id: { in: [...finished] } }, data: { status: warned ? 'warning' : 'success' } });
    await say(warned ? 'warning' : 'info', `${manifest.kind} restore point of ${manifest.time} made`);
  } catch (error) {
    const cancelled = stop.signal.aborted;
    const reason = cancelled
      ? String((stop.signal.reason as Error | undefined)?.message ?? 'cancelled')
      : error instanceof Error
        ? error.message
        : String(error);
    if (writer) await writer.abort().catch((e: unknown) => log.error({ err: e }, 'abort of the restore point failed'));
    if (view) await view.release('failure').catch((e: unknown) => log.error({ err: e }, 'release of the backup view failed'));
    await db.task.updateMany({
      where: { id: { in: tasks.map((t) => t.id) }, status: 'running' },
      data: { status: cancelled && !shutdown.aborted ? 'cancelled' : 'failed', endedAt: new Date(), error: reason },
    });
    await say(cancelled && !shutdown.aborted ? 'warning' : 'error', cancelled ? `cancelled: ${reason}` : `failed: ${reason}`);
  } finally {
    shutdown.removeEventListener('abort', onShutdown);
  }
}
