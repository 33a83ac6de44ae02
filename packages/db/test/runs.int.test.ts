import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MoverId, SessionId } from '@strongbox/core';
import { Outbox, Runs, type PrismaClient, type UnitHandle } from '../src/index.js';
import { scratchDatabase } from './helpers.js';
import { seedJob, seedMover, seedRepository, seedVms } from './run-seed.js';

// The run module against PostgreSQL: its guards in the SQL, the outbox, what closes a run.
let db: PrismaClient;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await scratchDatabase('runs'));
});
afterAll(() => drop());

const figures = {
  bytesRead: 10,
  bytesProcessed: 10,
  bytesTransferred: 5,
  bytesWritten: 5,
  progress: { totalBytes: 100, rate: 1, etaSeconds: 90, busy: {}, bottleneck: 'source', throttledMs: 0 },
};

/** One job of one VM with `retries`, started and dispatched to a fresh mover; the unit as that mover holds it. */
async function runningUnit(retries = { count: 0, waitMinutes: 1 }) {
  const estate = await seedVms(db, [`vm-${Math.random().toString(36).slice(2, 8)}`]);
  const repository = await seedRepository(db);
  const mover = await seedMover(db);
  const job = await seedJob(db, {
    connectionId: estate.connectionId,
    repositoryId: repository.id,
    objects: [{ type: 'vm', vmId: estate.vms[0]!.id }],
    retries,
  });
  const runs = new Runs(db);
  const start = await runs.startBackup({ jobId: job.id, trigger: 'user', triggeredBy: 'test' });
  // Only this test's unit waits, and only this test's mover may take it: what earlier tests
  // left is ended, and their movers look long dead.
  await db.task.updateMany({ where: { status: { in: ['pending', 'running'] }, sessionId: { not: start.sessionId! } }, data: { status: 'cancelled' } });
  await db.mover.updateMany({ where: { id: { not: mover.id } }, data: { lastHeartbeatAt: new Date(0) } });
  await runs.dispatch(new Date());
  const unit: UnitHandle = { sessionId: start.sessionId!, unit: estate.vms[0]!.id, attempt: 1, moverId: mover.id as MoverId };
  const [task] = await db.task.findMany({ where: { sessionId: unit.sessionId } });
  expect(task).toMatchObject({ status: 'running', moverId: mover.id, attempt: 1 });
  return { runs, unit, task: task!, mover, job, repository, estate };
}

const killMover = (id: string) => db.mover.update({ where: { id }, data: { lastHeartbeatAt: new Date(Date.now() - 10 * 60_000) } });

describe('the run module', () => {
  it('a mover whose unit was taken back changes nothing, and is told so', async () => {
    const { runs, unit, task, mover } = await runningUnit({ count: 1, waitMinutes: 1 });
    expect(await runs.mover.recordFigures(unit, task.id, figures)).toEqual({ current: true, stopRequested: false });
    await killMover(mover.id);
    expect(await runs.reclaimFromDeadMovers(new Date())).toBe(1);
    const requeued = await db.task.findUniqueOrThrow({ where: { id: task.id } });
    expect(requeued).toMatchObject({ status: 'pending', attempt: 2, moverId: null, bytesRead: 0n, excludedMoverIds: [mover.id] });
    // The old attempt's writes all miss: figures, its failure, its point.
    expect(await runs.mover.recordFigures(unit, task.id, figures)).toEqual({ current: false, stopRequested: false });
    expect(await runs.mover.fail(unit, { cancelled: false, reason: 'late' })).toBe(0);
    const published = await runs.mover.publishPoint(
      unit,
      {
        repositoryId: (await db.session.findUniqueOrThrow({ where: { id: unit.sessionId } })).repositoryId!,
        vmId: unit.unit,
        vmName: 'v',
        jobId: null,
        time: new Date(),
        kind: 'full',
        path: `points/x/${Date.now()}`,
        disks: [],
      },
      'success',
    );
    expect(published.current).toBe(false);
    // Its manifest was committed, so the point exists and the catalog says so; the unit is still the next attempt's.
    expect(await db.restorePoint.count({ where: { id: published.pointId } })).toBe(1);
    expect(await db.task.findUniqueOrThrow({ where: { id: task.id } })).toMatchObject({ status: 'pending', attempt: 2, error: null });
  });

  it('a unit whose mover died with no retry left is interrupted, and the run closes so, with its email and retention', async () => {
    const { runs, unit, task, mover } = await runningUnit({ count: 0, waitMinutes: 1 });
    await killMover(mover.id);
    await runs.reclaimFromDeadMovers(new Date());
    expect(await db.task.findUniqueOrThrow({ where: { id: task.id } })).toMatchObject({
      status: 'interrupted',
      error: expect.stringMatching(/stopped answering/),
    });
    expect(await runs.closeFinished(new Date())).toContain(unit.sessionId);
    const session = await db.session.findUniqueOrThrow({ where: { id: unit.sessionId } });
    expect(session).toMatchObject({ status: 'interrupted', summary: { vms: 1, success: 0, failed: 1 } });
    expect(await db.outboxMessage.count({ where: { name: 'session.notify', jobId: `notify-${unit.sessionId}` } })).toBe(1);
    expect(await db.session.findUnique({ where: { startKey: `retention-${unit.sessionId}` } })).toMatchObject({ kind: 'maintenance', status: 'pending' });
    // A second close of the same run does nothing more.
    expect(await runs.closeFinished(new Date())).not.toContain(unit.sessionId);
    expect(await db.outboxMessage.count({ where: { name: 'session.notify', jobId: `notify-${unit.sessionId}` } })).toBe(1);
  });

  it('a unit silent for too long on a live mover is taken back (its message lost, or its work hung), and not kept from that mover', async () => {
    const { runs, unit, task, mover } = await runningUnit({ count: 1, waitMinutes: 1 });
    await runs.mover.recordFigures(unit, task.id, figures);
    expect(await runs.reclaimStalled(new Date(Date.now() + 30_000), 60_000)).toBe(0);
    // Ten minutes on: the mover still heartbeats, the unit has said nothing.
    const later = new Date(Date.now() + 10 * 60_000);
    await db.mover.update({ where: { id: mover.id }, data: { lastHeartbeatAt: later } });
    expect(await runs.reclaimStalled(later, 60_000)).toBe(1);
    expect(await db.task.findUniqueOrThrow({ where: { id: task.id } })).toMatchObject({ status: 'pending', attempt: 2, excludedMoverIds: [] });
    expect((await db.sessionLog.findMany({ where: { sessionId: unit.sessionId } })).map((l) => l.message).join('\n')).toMatch(/no sign of life/);
    // A maintenance unit shows it is alive by itself: its poll is its sign of life.
    expect(await runs.mover.status(unit)).toEqual({ current: false, stopRequested: false });
  });

  it('a failed VM with retries left waits for its time, then goes out again as the next attempt', async () => {
    const { runs, unit, task, mover } = await runningUnit({ count: 1, waitMinutes: 5 });
    expect(await runs.mover.fail(unit, { cancelled: false, reason: 'the disk went away' })).toBe(1);
    const now = new Date();
    await runs.closeFinished(now);
    const waiting = await db.task.findUniqueOrThrow({ where: { id: task.id } });
    expect(waiting).toMatchObject({ status: 'pending', attempt: 2, error: 'the disk went away', excludedMoverIds: [] });
    expect(waiting.notBefore!.getTime()).toBe(now.getTime() + 5 * 60_000);
    expect((await db.session.findUniqueOrThrow({ where: { id: unit.sessionId } })).endedAt).toBeNull();
    await runs.dispatch(new Date(now.getTime() + 60_000));
    expect((await db.task.findUniqueOrThrow({ where: { id: task.id } })).status).toBe('pending');
    // Five minutes on, the mover still heartbeating.
    const later = new Date(now.getTime() + 5 * 60_000 + 1);
    await db.mover.update({ where: { id: mover.id }, data: { lastHeartbeatAt: later } });
    await runs.dispatch(later);
    expect(await db.task.findUniqueOrThrow({ where: { id: task.id } })).toMatchObject({ status: 'running', attempt: 2, error: null });
    expect(await db.outboxMessage.count({ where: { jobId: `vm-${unit.sessionId}-${unit.unit}-2` } })).toBe(1);
  });

  it('a stop cancels what waits at once, tells the running mover, and the run closes cancelled', async () => {
    const { runs, unit, task } = await runningUnit();
    await runs.requestStop(unit.sessionId, 'ann@example.test');
    expect((await runs.mover.recordFigures(unit, task.id, figures)).stopRequested).toBe(true);
    await runs.mover.fail(unit, { cancelled: true, reason: 'stopped by a user' });
    await runs.closeFinished(new Date());
    expect((await db.session.findUniqueOrThrow({ where: { id: unit.sessionId } })).status).toBe('cancelled');
    await expect(runs.requestStop(unit.sessionId, 'ann@example.test')).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(runs.requestStop('00000000-0000-4000-8000-000000000000' as SessionId, 'x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a retry of a run names the run it retries', async () => {
    const { runs, unit, job } = await runningUnit();
    await runs.mover.fail(unit, { cancelled: false, reason: 'x' });
    await runs.closeFinished(new Date());
    const retry = await runs.startBackup({ jobId: job.id, trigger: 'retry', triggeredBy: 'test', onlyVmIds: [unit.unit], retryOfSessionId: unit.sessionId });
    expect(await db.session.findUniqueOrThrow({ where: { id: retry.sessionId! } })).toMatchObject({
      retryOfSessionId: unit.sessionId,
      name: expect.stringMatching(/\(Retry\)$/),
    });
  });

  it('points the store holds and the catalog lacks are entered, with the job and session their manifest names when those exist', async () => {
    const { runs, unit, job, repository, estate } = await runningUnit();
    const vm = { id: estate.vms[0]!.id, name: estate.vms[0]!.name };
    const disks = [{ name: 'vda', size: 1048576, blockSize: 262144, codec: 'fast', newBytes: 10, storedBytes: 40 }];
    const stored = [
      {
        id: `${vm.id}/20261202T010000.000Z`,
        time: '2026-12-02T01:00:00.000Z',
        kind: 'full',
        disks,
        job: { jobId: job.id, sessionId: unit.sessionId, vmName: 'web-1' },
      },
      {
        id: `${vm.id}/20261202T020000.000Z`,
        time: '2026-12-02T02:00:00.000Z',
        kind: 'incremental',
        disks,
        job: { jobId: '00000000-0000-4000-8000-000000000000', sessionId: 'not-an-id' },
      },
    ];
    expect((await runs.mover.catalogMissing(repository.id, vm, stored)).map((p) => p.id)).toEqual(stored.map((p) => p.id));
    const rows = await db.restorePoint.findMany({ where: { repositoryId: repository.id }, orderBy: { time: 'asc' } });
    expect(rows.map((r) => [r.path, r.jobId, r.sessionId, r.vmName, r.kind])).toEqual([
      [stored[0]!.id, job.id, unit.sessionId, 'web-1', 'full'],
      [stored[1]!.id, null, null, vm.name, 'incremental'],
    ]);
    // Entered once: a second look finds nothing missing.
    expect(await runs.mover.catalogMissing(repository.id, vm, stored)).toEqual([]);
    expect(await db.restorePoint.count({ where: { repositoryId: repository.id } })).toBe(2);
  });

  it('the outbox sends oldest first, deletes what went, and keeps what did not', async () => {
    const runs = new Runs(db);
    await db.outboxMessage.deleteMany({});
    const outbox = new Outbox(db);
    for (const n of [1, 2, 3])
      await outbox.put('inventory.rescan', { connectionId: `0000000${n}-0000-4000-8000-000000000000` }, { queue: 'inventory', jobId: `test-${n}` });
    const sent: string[] = [];
    await expect(
      runs.relay(async (m) => {
        if (m.jobId === 'test-2') throw new Error('Redis is away');
        sent.push(m.jobId);
      }),
    ).rejects.toThrow('Redis is away');
    expect(sent).toEqual(['test-1']);
    expect((await db.outboxMessage.findMany({ orderBy: { id: 'asc' } })).map((m) => m.jobId)).toEqual(['test-2', 'test-3']);
    expect(await runs.relay(async (m) => sent.push(m.jobId))).toBe(2);
    expect(sent).toEqual(['test-1', 'test-2', 'test-3']);
    const [first] = await db.outboxMessage.findMany();
    expect(first).toBeUndefined();
  });

  it('refuses an envelope the catalog would not accept, and writes nothing', async () => {
    const before = await db.outboxMessage.count();
    await expect(new Outbox(db).put('session.notify', { sessionId: 'not-a-uuid' }, { queue: 'notify', jobId: 'bad' })).rejects.toMatchObject({
      code: 'QUEUE_PAYLOAD_INVALID',
    });
    expect(await db.outboxMessage.count()).toBe(before);
  });
});
