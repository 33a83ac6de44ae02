import { addSample, messageOf, selectPointsToDelete, type MoverId, type Sample, type UnitResult } from '@strongbox/core';
import { BackupRepositories, jobSelect, specOf, type UnitHandle } from '@strongbox/db';
import { Throttle } from '@strongbox/pipeline';
import type { Payload } from '@strongbox/queue';
import { Repository, RepositoryError, type PointSummary } from '@strongbox/repository';
import { indexGuestFiles } from './index-files.js';
import type { MoverContext } from './mover-context.js';

const STOP_POLL_MS = 1_000;

type Say = (level: 'info' | 'warning' | 'error', message: string) => Promise<unknown>;
type Outcome = { status: 'success' | 'warning' | 'failed'; result: UnitResult };

/**
 * Points the store holds and the catalog lacks (a mover died between a manifest and its
 * record) are entered before retention counts the points: otherwise it would never delete
 * them, and the console would never list them.
 */
async function catalogTheStore(ctx: MoverContext, repo: Repository, repositoryId: string, say: Say): Promise<void> {
  const byVm = new Map<string, PointSummary[]>();
  for (const p of await repo.listPoints()) byVm.set(p.vmId, [...(byVm.get(p.vmId) ?? []), p]);
  for (const [externalId, points] of byVm) {
    const vm = await ctx.db.vm.findFirst({ where: { externalId }, select: { id: true, name: true } });
    const name = vm?.name ?? (typeof points[0]!.job?.vmName === 'string' ? points[0]!.job.vmName : externalId);
    for (const found of await ctx.runs.mover.catalogMissing(repositoryId, { id: vm?.id ?? null, name }, points)) {
      await say('warning', `${name}: restore point of ${found.time} was in the repository but not in the catalog: recorded now`);
    }
  }
}

/** Each job's retention policy over its points in this repository, per VM, in the job's time zone; the catalog follows the store. */
async function retention(ctx: MoverContext, repo: Repository, repositoryId: string, say: Say): Promise<Outcome> {
  await catalogTheStore(ctx, repo, repositoryId, say);
  const jobs = await ctx.db.backupJob.findMany({ where: { repositoryId }, select: jobSelect });
  let deleted = 0;
  for (const job of jobs) {
    const spec = specOf(job);
    const points = await ctx.db.restorePoint.findMany({
      where: { repositoryId, jobId: job.id },
      select: { id: true, vmId: true, vmName: true, time: true, path: true },
    });
    const byVm = new Map<string, typeof points>();
    for (const p of points) byVm.set(p.vmId ?? p.vmName, [...(byVm.get(p.vmId ?? p.vmName) ?? []), p]);
    for (const group of byVm.values()) {
      const { delete: doomed } = selectPointsToDelete(
        group.map((p) => ({ id: p.id, time: p.time })),
        spec.retention,
        new Date(),
        spec.timeZone,
      );
      for (const id of doomed) {
        const point = group.find((p) => p.id === id)!;
        await repo.deletePoint(point.path);
        await ctx.runs.mover.removePoint(id);
        await say('info', `${point.vmName}: restore point of ${point.time.toISOString()} removed by the retention of job ${job.name}`);
        deleted++;
      }
    }
  }
  await say('info', `${deleted} restore point(s) removed`);
  return { status: 'success', result: { deleted } };
}

async function gc(repo: Repository, say: Say): Promise<Outcome> {
  const report = await repo.gc();
  await say(
    'info',
    `${report.chunksDeleted} unreferenced chunk(s) removed, ${(report.bytesFreed / 2 ** 20).toFixed(1)} MiB freed; ${report.keptYoung} kept for live writers`,
  );
  return { status: 'success', result: report };
}

/**
 * A health check's figures on its task, at most every second and once at the end: the
 * session page's progress bar, rate, time left and chart. A lost write only loses a second
 * of figures; the check goes on.
 */
function verifyFigures(ctx: MoverContext, unit: UnitHandle, taskId: string, throttle: Throttle, throttledMs: () => number) {
  const started = Date.now();
  let last = 0;
  let history: Sample[] = [[started, 0]];
  let pending: Promise<void> = Promise.resolve();
  const report = (bytes: { done: number; total: number }) => {
    const now = Date.now();
    if (now - last < 1000 && bytes.done < bytes.total) return;
    last = now;
    const rate = now > started ? (bytes.done * 1000) / (now - started) : 0;
    const throttled = throttledMs();
    history = addSample(history, [now, bytes.done]);
    const progress = {
      totalBytes: bytes.total,
      rate,
      etaSeconds: rate > 0 ? Math.round((bytes.total - bytes.done) / rate) : null,
      busy: {},
      // Reading the store is the work, unless chunks wait for the read-rate limit.
      bottleneck: throttle.holding ? 'throttling' : 'target',
      throttledMs: throttled,
      history,
    };
    pending = pending
      .then(() =>
        ctx.runs.mover.recordFigures(unit, taskId, { bytesRead: bytes.done, bytesProcessed: bytes.done, bytesTransferred: 0, bytesWritten: 0, progress }),
      )
      .then(
        () => undefined,
        (error: unknown) => ctx.log.warn({ err: error, taskId }, 'health check figures not recorded'),
      );
  };
  return { report, flush: () => pending };
}

/** Every chunk every point references, re-read at no more than the repository's read-rate limit. */
async function verify(
  ctx: MoverContext,
  repo: Repository,
  repositoryId: string,
  task: { unit: UnitHandle; id: string },
  say: Say,
  signal: AbortSignal,
): Promise<Outcome> {
  const row = await new BackupRepositories(ctx.db).byId(repositoryId);
  const throttle = new Throttle(row?.readRateLimit ? Number(row.readRateLimit) : null);
  let throttled = 0;
  const bar = verifyFigures(ctx, task.unit, task.id, throttle, () => throttled);
  const report = await repo.verify({
    signal,
    pace: async (bytes) => {
      throttled += await throttle.take(bytes, signal);
    },
    onProgress: (_done, _total, bytes) => bar.report(bytes),
  });
  await bar.flush();
  // Every point is reported, whatever is wrong with another: good, damaged (which disk, why) or unreadable.
  for (const p of report.points) {
    if (p.state === 'unreadable') await say('error', `point ${p.id} cannot be read: ${p.error.message}`);
    else for (const d of p.disks) if (d.index) await say('error', `point ${p.id}, disk ${d.name}: ${d.index.message}`);
  }
  for (const bad of report.bad) await say('error', `chunk ${bad.digest.slice(0, 16)}… ${bad.problem}; breaks ${bad.points.join(', ')}`);
  const older = report.points.filter((p) => p.state !== 'unreadable' && p.checks === 'sha256-only').length;
  if (older > 0) await say('info', `${older} point(s) predate the point checksums and index bindings: their indexes are checked by their SHA-256 only`);
  const failed = report.bad.length > 0 || report.pointsDamaged > 0 || report.pointsUnreadable > 0;
  await say(
    failed ? 'error' : 'info',
    `${report.pointsChecked} point(s): ${report.pointsGood} good, ${report.pointsDamaged} damaged, ${report.pointsUnreadable} unreadable; ${report.chunksChecked} chunk(s) checked, ${report.bad.length} bad`,
  );
  const result = {
    chunksChecked: report.chunksChecked,
    bad: report.bad.length,
    pointsChecked: report.pointsChecked,
    pointsDamaged: report.pointsDamaged,
    pointsUnreadable: report.pointsUnreadable,
  };
  await new BackupRepositories(ctx.db).recordVerify(repositoryId, new Date(), result);
  ctx.log.info({ repositoryId, ...result }, 'repository verified');
  return { status: failed ? 'failed' : 'success', result };
}

/**
 * Retention, GC, a health check or guest file indexing of one repository, on this mover because it sees the
 * store. The store is opened, never created: a folder without a repository in it is an
 * error to report, not an empty repository to report on.
 */
export async function runMaintenance(ctx: MoverContext, payload: Payload<'maintenance.run'>, signal: AbortSignal): Promise<void> {
  const unit: UnitHandle = { sessionId: payload.sessionId, unit: payload.unit, attempt: payload.attempt, moverId: ctx.moverId as MoverId };
  const opened = await ctx.runs.mover.open(unit);
  if (!opened) return;
  const say: Say = (level, message) => ctx.runs.log(payload.sessionId, level, message);
  // A user's stop, or the unit taken back (its mover was thought dead), ends the work between chunks.
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const watch = setInterval(() => {
    ctx.runs.mover.status(unit).then(
      ({ current, stopRequested }) => {
        if (!current) stop.abort(new Error('the controller took this unit back from this mover'));
        else if (stopRequested) stop.abort(new Error('stopped by a user'));
      },
      (error: unknown) => ctx.log.warn({ err: error }, 'could not look for a stop'),
    );
  }, STOP_POLL_MS);
  try {
    const repositoryId = opened.session.repositoryId;
    const row = repositoryId ? await new BackupRepositories(ctx.db).byId(repositoryId) : null;
    if (!repositoryId || !row) throw new Error('the repository no longer exists');
    let repo: Repository;
    try {
      repo = await Repository.open(row.path);
    } catch (error) {
      if (error instanceof RepositoryError && error.code === 'REPO_NOT_FOUND') {
        throw new Error(`the store of repository ${row.name} is not at ${row.path} on this mover (${messageOf(error)})`);
      }
      throw error;
    }
    const outcome =
      payload.unit === 'retention'
        ? await retention(ctx, repo, repositoryId, say)
        : payload.unit === 'gc'
          ? await gc(repo, say)
          : payload.unit === 'index'
            ? await indexGuestFiles(ctx, repo, repositoryId, say, both)
            : await verify(ctx, repo, repositoryId, { unit, id: opened.tasks[0]!.id }, say, both);
    await ctx.runs.mover.finishUnit(unit, outcome);
  } catch (error) {
    const byUser = stop.signal.aborted && !signal.aborted;
    const reason = stop.signal.aborted ? messageOf(stop.signal.reason) : messageOf(error);
    await say(byUser ? 'warning' : 'error', byUser ? `cancelled: ${reason}` : reason);
    await ctx.runs.mover.fail(unit, { cancelled: byUser, reason });
  } finally {
    clearInterval(watch);
  }
}
