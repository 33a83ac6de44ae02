import { grantUnits, sessionRules, taskRules, type MaintenanceOperation, type SessionId, type WaitingUnit } from '@strongbox/core';
import { moverQueue } from '@strongbox/queue/catalog';
import { transaction, type Db } from '../client.js';
import type { PrismaClient } from '../generated/client.js';
import { MOVER_OFFLINE_AFTER_MS } from '../movers.js';
import { PROCESSING_SETTING_KEY, processingSettingSchema, Settings } from '../settings.js';
import { applySessionChange, applyTaskChange } from './apply.js';
import { Outbox } from './outbox.js';
import { writeLog } from './read.js';
import { restoreRequestOf } from './start-restore.js';

/**
 * Rounds of the resource scheduler take this transaction-scoped advisory lock, so that
 * two rounds (a leader and a controller that lost its lease mid-round, or a round the
 * web woke while the tick ran one) never hand out the same slot: the second waits, then
 * sees what the first granted. The number is arbitrary, fixed, Strongbox's own.
 */
const DISPATCH_LOCK = 7_312_001;

type Unit = WaitingUnit & { unit: string; attempt: number; label: string; waitingFor: string | null };

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
      waitingFor: true,
      vm: { select: { name: true, host: { select: { name: true, site: true } } } },
      session: { select: { kind: true, repositoryId: true, name: true, request: true, targetVmId: true } },
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
    const kind = task.session.kind === 'maintenance' ? 'maintenance' : task.session.kind === 'restore' ? 'restore' : 'vm';
    // A restore goes near its target host; a backup near its VM's.
    const host = kind === 'restore' ? restoreRequestOf(task.session.request).resolved.host : (task.vm?.host ?? null);
    units.set(key, {
      id: key,
      sessionId: task.sessionId,
      unit: task.unit,
      attempt: task.attempt,
      repositoryId: task.session.repositoryId,
      kind,
      vmHostName: host?.name ?? null,
      vmSite: host?.site ?? null,
      busyVmId: kind === 'restore' ? task.session.targetVmId : kind === 'vm' ? task.unit : null,
      excludeMovers: task.excludedMoverIds,
      waitingFor: task.waitingFor,
      label: kind === 'vm' ? (task.vm?.name ?? task.unit) : task.session.name,
    });
  }
  return [...units.values()];
}

/** What runs now, one entry per unit: its mover, repository and kind. */
async function runningUnits(tx: Db) {
  const rows = await tx.task.findMany({
    where: { status: 'running' },
    distinct: ['sessionId', 'unit'],
    select: { sessionId: true, unit: true, moverId: true, session: { select: { kind: true, repositoryId: true, targetVmId: true } } },
  });
  return rows.map((r) => ({
    sessionId: r.sessionId,
    moverId: r.moverId,
    repositoryId: r.session.repositoryId,
    kind: r.session.kind,
    // The VM the unit holds: a backup's own, an in-place restore's target.
    vmId: r.session.kind === 'backup' ? r.unit : r.session.kind === 'restore' ? r.session.targetVmId : null,
  }));
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
      const vmsBusy = new Map(vmUnits.flatMap((u) => (u.vmId ? [[u.vmId, u.kind === 'restore' ? 'a restore' : 'a backup'] as const] : [])));
      const { grants, refusals, waits } = grantUnits({
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
        vmsBusy,
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
        else if (unit.kind === 'restore') await outbox.put('restore.run', { sessionId: unit.sessionId, unit: 'restore', attempt: unit.attempt }, to);
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
      // A unit that waits for another run of its VM says so once, not every round.
      for (const wait of waits) {
        const unit = byKey.get(wait.unitId)!;
        if (unit.waitingFor === wait.reason) continue;
        await tx.task.updateMany({ where: { sessionId: unit.sessionId, unit: unit.unit, status: 'pending' }, data: { waitingFor: wait.reason } });
        await writeLog(tx, unit.sessionId, 'info', `${unit.label}: ${wait.reason}`);
      }
      return { granted, refused: refusals.length };
    },
    db,
  );
}
