import { grantTasks, type WaitingTask } from '@strongbox/core';
import { MOVER_OFFLINE_AFTER_MS, PROCESSING_SETTING_KEY, RunRepository, SettingRepository, type PrismaClient, type ProcessingSetting } from '@strongbox/db';
import { moverQueue, type Queues } from '@strongbox/queue';

/**
 * The unit a mover takes is one VM: its disks share one checkpoint and one restore point,
 * so they go to the same mover and run one after another in one task slot. Tasks stay
 * one per disk, for progress and results.
 */
const unitKey = (sessionId: string, vmId: string) => `${sessionId}/${vmId}`;

type UnitState = { key: string; sessionId: string; vmId: string; moverId: string | null; repositoryId: string };

async function runningUnits(db: PrismaClient): Promise<UnitState[]> {
  const rows = await db.task.findMany({
    where: { status: 'running' },
    select: { sessionId: true, vmId: true, moverId: true, session: { select: { job: { select: { repositoryId: true } } } } },
  });
  const units = new Map<string, UnitState>();
  for (const row of rows) {
    if (!row.vmId || !row.session.job) continue;
    const key = unitKey(row.sessionId, row.vmId);
    units.set(key, { key, sessionId: row.sessionId, vmId: row.vmId, moverId: row.moverId, repositoryId: row.session.job.repositoryId });
  }
  return [...units.values()];
}

/**
 * Flow step 3, one round of the resource scheduler: waiting VMs get a mover (same host,
 * same site, any) and a repository slot within both limits, in session order, and go to
 * the mover's queue. What does not fit waits for the next round.
 */
export async function dispatch(db: PrismaClient, queues: Queues, now: Date): Promise<number> {
  const pending = await db.task.findMany({
    where: { status: 'pending', OR: [{ notBefore: null }, { notBefore: { lte: now } }], session: { stopRequested: false } },
    orderBy: [{ session: { startedAt: 'asc' } }, { vm: { name: 'asc' } }, { diskName: 'asc' }],
    select: {
      sessionId: true,
      vmId: true,
      attempt: true,
      excludedMoverIds: true,
      vm: { select: { name: true, host: { select: { name: true, site: true } } } },
      session: { select: { job: { select: { repositoryId: true } } } },
    },
  });
  if (pending.length === 0) return 0;
  const waiting = new Map<string, WaitingTask & { vmId: string; vmName: string; attempt: number }>();
  for (const task of pending) {
    if (!task.vmId || !task.session.job) continue;
    const key = unitKey(task.sessionId, task.vmId);
    const unit = waiting.get(key);
    if (unit) {
      unit.excludeMovers = [...new Set([...(unit.excludeMovers ?? []), ...task.excludedMoverIds])];
      continue;
    }
    waiting.set(key, {
      id: key,
      sessionId: task.sessionId,
      repositoryId: task.session.job.repositoryId,
      vmHostName: task.vm?.host?.name ?? null,
      vmSite: task.vm?.host?.site ?? null,
      excludeMovers: task.excludedMoverIds,
      vmId: task.vmId,
      vmName: task.vm?.name ?? task.vmId,
      attempt: task.attempt,
    });
  }
  const [running, movers, repositories, setting] = await Promise.all([
    runningUnits(db),
    db.mover.findMany(),
    db.repository.findMany({ select: { id: true, maxConcurrentTasks: true } }),
    new SettingRepository(db).get<ProcessingSetting>(PROCESSING_SETTING_KEY),
  ]);
  const grants = grantTasks({
    waiting: [...waiting.values()],
    movers: movers.map((m) => ({
      id: m.id,
      hostName: m.hostName,
      site: m.site,
      enabled: m.enabled,
      online: now.getTime() - m.lastHeartbeatAt.getTime() < MOVER_OFFLINE_AFTER_MS,
      maxConcurrentTasks: m.maxConcurrentTasks,
      running: running.filter((u) => u.moverId === m.id).length,
    })),
    repositories: repositories.map((r) => ({ ...r, running: running.filter((u) => u.repositoryId === r.id).length })),
    mode: setting?.value.mode ?? 'parallel',
    sessionsRunning: new Set(running.map((u) => u.sessionId)),
  });
  const runs = new RunRepository(db);
  for (const grant of grants) {
    const unit = waiting.get(grant.taskId)!;
    const mover = movers.find((m) => m.id === grant.moverId)!;
    const taken = await db.task.updateManyAndReturn({
      where: { sessionId: unit.sessionId, vmId: unit.vmId, status: 'pending' },
      data: { status: 'running', moverId: mover.id, startedAt: now, error: null },
      select: { id: true },
    });
    if (taken.length === 0) continue;
    await db.session.updateMany({ where: { id: unit.sessionId, status: 'pending' }, data: { status: 'running' } });
    await runs.log(
      unit.sessionId,
      'info',
      `${unit.vmName}: processing on mover ${mover.name} (${grant.tier === 'any' ? 'no mover near the VM' : `same ${grant.tier}`})`,
    );
    await queues.add(
      'task.run',
      { sessionId: unit.sessionId, vmId: unit.vmId, taskIds: taken.map((t) => t.id), attempt: unit.attempt },
      { queueName: moverQueue(mover.id), jobId: `run-${unit.sessionId}-${unit.vmId}-${unit.attempt}` },
    );
  }
  return grants.length;
}
