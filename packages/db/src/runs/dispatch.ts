import { grantUnits, sessionRules, taskRules, type MaintenanceOperation, type SessionId, type WaitingUnit } from '@strongbox/core';
import { moverQueue } from '@strongbox/queue/catalog';
import { transaction, type Db } from '../client.js';
import type { PrismaClient } from '../generated/client.js';
import { MOVER_OFFLINE_AFTER_MS } from '../movers.js';
import { PROCESSING_SETTING_KEY, processingSettingSchema, Settings } from '../settings.js';
import { applySessionChange, applyTaskChange } from './apply.js';
import { Outbox } from './outbox.js';
import { writeLog } from './read.js';

/**
 * Rounds of the resource scheduler take this transaction-scoped advisory lock, so that
 * two rounds (a leader and a controller that lost its lease mid-round, or a round the
 * web woke while the tick ran one) never hand out the same slot: the second waits, then
 * sees what the first granted. The number is arbitrary, fixed, Strongbox's own.
 */
const DISPATCH_LOCK = 7_312_001;

type Unit = WaitingUnit & { unit: string; attempt: number; label: string };

const keyOf = (sessionId: string, unit: string) => `${sessionId}/${unit}`;

async function waitingUnits(tx: Db, now: Date): Promise<Unit[]> {
  const pending = await tx.task.findMany({
    where: { status: 'pending', OR: [{ notBefore: null }, { notBefore: { lte: now } }], session: { stopRequested: false } },
    orderBy: [{ session: { startedAt: 'asc' } }, { vm: { name: 'asc' } }, { diskName: 'asc' }],
    select: {
      sessionId: true,
      unit: true,
      attempt: true,
      excludedMoverIds: true,
      vm: { select: { name: true, host: { select: { name: true, site: true } } } },
      session: { select: { kind: true, repositoryId: true, name: true } },
    },
  });
  const units = new Map<string, Unit>();
  for (const task of pending) {
    if (!task.session.repositoryId) continue;
    const key = keyOf(task.sessionId, task.unit);
    const known = units.get(key);
    if (known) {
      known.excludeMovers = [...new Set([...(known.excludeMovers ?? []), ...task.excludedMoverIds])];
      continue;
    }
    const maintenance = task.session.kind === 'maintenance';
    units.set(key, {
      id: key,
      sessionId: task.sessionId,
      unit: task.unit,
      attempt: task.attempt,
      repositoryId: task.session.repositoryId,
      kind: maintenance ? 'maintenance' : 'vm',
      vmHostName: task.vm?.host?.name ?? null,
      vmSite: task.vm?.host?.site ?? null,
      excludeMovers: task.excludedMoverIds,
      label: maintenance ? task.session.name : (task.vm?.name ?? task.unit),
    });
  }
  return [...units.values()];
}

/** What runs now, one entry per unit: its mover, repository and kind. */
async function runningUnits(tx: Db) {
  const rows = await tx.task.findMany({
    where: { status: 'running' },
    distinct: ['sessionId', 'unit'],
    select: { sessionId: true, moverId: true, session: { select: { kind: true, repositoryId: true } } },
  });
  return rows.map((r) => ({ sessionId: r.sessionId, moverId: r.moverId, repositoryId: r.session.repositoryId, kind: r.session.kind }));
}

/**
 * One round of the resource scheduler: waiting units get a mover within every limit
 * (core's `grantUnits`), each claimed with its attempt in the WHERE and announced to its
 * mover through the outbox, in one transaction; units no mover could ever take fail with
 * why. What does not fit waits for the next round.
 */
export async function dispatchRound(db: PrismaClient, now: Date): Promise<{ granted: number; refused: number }> {
  return transaction(
    'runs.dispatch',
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${DISPATCH_LOCK})`;
      const waiting = await waitingUnits(tx, now);
      if (waiting.length === 0) return { granted: 0, refused: 0 };
      const [running, movers, repositories, processing] = await Promise.all([
        runningUnits(tx),
        tx.mover.findMany(),
        tx.backupRepository.findMany({ select: { id: true, maxConcurrentTasks: true } }),
        new Settings(tx).get(PROCESSING_SETTING_KEY, processingSettingSchema),
      ]);
      const vmUnits = running.filter((u) => u.kind !== 'maintenance');
      const { grants, refusals } = grantUnits({
        waiting,
        movers: movers.map((m) => ({
          id: m.id,
          hostName: m.hostName,
          site: m.site,
          enabled: m.enabled,
          online: now.getTime() - m.lastHeartbeatAt.getTime() < MOVER_OFFLINE_AFTER_MS,
          maxConcurrentTasks: m.maxConcurrentTasks,
          running: vmUnits.filter((u) => u.moverId === m.id).length,
          repositoryIds: m.repositoryIds,
        })),
        repositories: repositories.map((r) => ({
          ...r,
          running: vmUnits.filter((u) => u.repositoryId === r.id).length,
          maintaining: running.some((u) => u.kind === 'maintenance' && u.repositoryId === r.id),
        })),
        mode: processing?.value.mode ?? 'parallel',
        sessionsRunning: new Set(vmUnits.map((u) => u.sessionId)),
      });
      const byKey = new Map(waiting.map((u) => [u.id, u]));
      const outbox = new Outbox(tx);
      let granted = 0;
      for (const grant of grants) {
        const unit = byKey.get(grant.unitId)!;
        const mover = movers.find((m) => m.id === grant.moverId)!;
        const claimed = await applyTaskChange(
          tx,
          { sessionId: unit.sessionId, unit: unit.unit, session: { stopRequested: false } },
          taskRules.claim({ attempt: unit.attempt, excludedMoverIds: [] }, mover.id, now),
        );
        if (claimed === 0) continue;
        await applySessionChange(tx, unit.sessionId as SessionId, sessionRules.begin());
        const where = grant.tier === 'any' ? (unit.kind === 'maintenance' ? 'it sees the store' : 'no mover near the VM') : `same ${grant.tier}`;
        await writeLog(tx, unit.sessionId, 'info', `${unit.label}: processing on mover ${mover.name} (${where})`);
        const to = { queue: moverQueue(mover.id), jobId: `${unit.kind}-${unit.sessionId}-${unit.unit}-${unit.attempt}` };
        if (unit.kind === 'maintenance')
          await outbox.put('maintenance.run', { sessionId: unit.sessionId, unit: unit.unit as MaintenanceOperation, attempt: unit.attempt }, to);
        else await outbox.put('vm.run', { sessionId: unit.sessionId, unit: unit.unit, attempt: unit.attempt }, to);
        granted++;
      }
      for (const refusal of refusals) {
        const unit = byKey.get(refusal.unitId)!;
        const failed = await applyTaskChange(
          tx,
          { sessionId: unit.sessionId, unit: unit.unit },
          taskRules.refuse({ attempt: unit.attempt, excludedMoverIds: [] }, refusal.reason, now),
        );
        if (failed > 0) await writeLog(tx, unit.sessionId, 'error', `${unit.label}: ${refusal.reason}`);
      }
      return { granted, refused: refusals.length };
    },
    db,
  );
}
