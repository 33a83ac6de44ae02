import type { MoverId, SessionId } from '@strongbox/core';
import { BackupRepositories, type HeldUnit } from '@strongbox/db';
import { runJanitor } from '@strongbox/hypervisors';
import { Repository, RepositoryError, type PointSummary } from '@strongbox/repository';
import type { MoverContext } from './mover-context.js';
import { undoUnfinishedRestores } from './run-restore.js';

/** The point this unit's run committed before its process died, if the store has one. */
async function committedPoint(ctx: MoverContext, unit: HeldUnit): Promise<{ point: PointSummary; repositoryId: string } | null> {
  if (unit.session.kind !== 'backup' || !unit.vm || !unit.session.repositoryId) return null;
  const row = await new BackupRepositories(ctx.db).byId(unit.session.repositoryId);
  if (!row) return null;
  try {
    const repo = await Repository.open(row.path);
    const point = (await repo.listPoints(unit.vm.externalId)).find((p) => p.job?.sessionId === unit.sessionId);
    return point ? { point, repositoryId: row.id } : null;
  } catch (error) {
    // A store this mover cannot open now holds nothing it could settle: the unit runs again.
    if (error instanceof RepositoryError) return null;
    throw error;
  }
}

/**
 * What this mover's previous life left, settled at once when it starts, before it takes
 * new work (a restarted mover keeps its id and heartbeats on, so the dead-mover rule would
 * never see that its process died): the janitor ends the libvirt backup jobs and exports
 * of dead processes, what unfinished restores made is removed, and each unit still held under this mover's id is finished from its
 * committed point when the store has one (the process died between the manifest and the
 * catalog), or goes back to waiting like a dead mover's. A failure here (the database
 * away) fails the mover's start: a unit left held would wait for this mover forever.
 */
export async function settlePreviousLife(ctx: MoverContext, self: { id: string; name: string }): Promise<void> {
  for (const action of await runJanitor(ctx.workDir ? { workDir: ctx.workDir } : {})) {
    ctx.log.warn({ job: action.job, domain: action.domain, did: action.did }, 'released what a dead mover process left');
  }
  // A restore killed mid-way leaves its journal: the VM it defined and the images it began go.
  await undoUnfinishedRestores(ctx);
  for (const unit of await ctx.runs.mover.heldBy(self.id)) {
    const label = unit.session.kind === 'maintenance' ? unit.session.name : (unit.vm?.name ?? unit.unit);
    const found = await committedPoint(ctx, unit);
    if (!found) {
      await ctx.runs.mover.reclaimAfterRestart(unit, self);
      continue;
    }
    const handle = { sessionId: unit.sessionId as SessionId, unit: unit.unit, attempt: unit.attempt, moverId: self.id as MoverId };
    const { point } = found;
    await ctx.runs.mover.publishPoint(
      handle,
      {
        repositoryId: found.repositoryId,
        vmId: unit.unit,
        vmName: unit.vm!.name,
        jobId: unit.session.jobId,
        time: new Date(point.time),
        kind: point.kind,
        path: point.id,
        disks: point.disks,
      },
      'success',
    );
    await ctx.runs.log(
      unit.sessionId,
      'warning',
      `${label}: mover ${self.name} restarted after committing the restore point of ${point.time}: recorded, no second run needed`,
    );
  }
}
