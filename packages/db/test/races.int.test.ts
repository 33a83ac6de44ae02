import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, BackupRepositories, Runs, Users, type PrismaClient } from '../src/index.js';
import { scratchDatabase } from './helpers.js';
import { seedJob, seedMover, seedRepository, seedVms } from './run-seed.js';

// Invariants the database holds, each tried by racing calls at once: on code that checked
// first and wrote after (a findFirst, then a create or an update), each of these let two
// callers through. A database of its own, so that counts are this file's alone.
let db: PrismaClient;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await scratchDatabase('races'));
});
afterAll(() => drop());

const settle = <T>(calls: (() => Promise<T>)[]) => Promise.allSettled(calls.map((call) => call()));

describe('one active run per job (a partial unique index)', () => {
  it('of eight starts at once, one makes the session; the others are told which one runs', async () => {
    const estate = await seedVms(db, ['race-a']);
    const repository = await seedRepository(db);
    const job = await seedJob(db, { connectionId: estate.connectionId, repositoryId: repository.id, objects: [{ type: 'vm', vmId: estate.vms[0]!.id }] });
    const runs = new Runs(db);
    const results = await Promise.all(Array.from({ length: 8 }, () => runs.startBackup({ jobId: job.id, trigger: 'user', triggeredBy: 'racer' })));
    const started = results.filter((r) => r.started);
    expect(started).toHaveLength(1);
    for (const r of results.filter((x) => !x.started))
      expect(r).toMatchObject({ sessionId: started[0]!.sessionId, reason: expect.stringMatching(/already running/) });
    expect(await db.session.count({ where: { jobId: job.id } })).toBe(1);
    expect(await db.task.count({ where: { session: { jobId: job.id } } })).toBe(1);
  });

  it('a start key makes a schedule\u2019s start once, however many ticks ask', async () => {
    const estate = await seedVms(db, ['race-k']);
    const repository = await seedRepository(db);
    const job = await seedJob(db, { connectionId: estate.connectionId, repositoryId: repository.id, objects: [{ type: 'vm', vmId: estate.vms[0]!.id }] });
    const runs = new Runs(db);
    const key = `schedule-${job.id}-1`;
    const results = await Promise.all(
      Array.from({ length: 5 }, () => runs.startBackup({ jobId: job.id, trigger: 'schedule', triggeredBy: 'schedule', startKey: key })),
    );
    expect(results.filter((r) => r.started)).toHaveLength(1);
    await runs.requestStop(results.find((r) => r.started)!.sessionId!, 'test');
    await runs.closeFinished(new Date());
    // The run has ended; the same key still names it, and starts nothing.
    expect(await runs.startBackup({ jobId: job.id, trigger: 'schedule', triggeredBy: 'schedule', startKey: key })).toMatchObject({
      started: false,
      reason: 'this start was made already',
    });
    expect(await db.session.count({ where: { jobId: job.id } })).toBe(1);
  });
});

describe('the resource scheduler\u2019s rounds are serialized (an advisory lock)', () => {
  it('six rounds at once, each seeing another VM due, hand out the one repository slot once', async () => {
    const repository = await seedRepository(db, { maxConcurrentTasks: 1 });
    const mover = await seedMover(db, { maxConcurrentTasks: 10 });
    const t0 = Date.now();
    const runs = new Runs(db);
    const units = [];
    for (let i = 0; i < 6; i++) {
      const estate = await seedVms(db, [`race-d${i}`]);
      const job = await seedJob(db, { connectionId: estate.connectionId, repositoryId: repository.id, objects: [{ type: 'vm', vmId: estate.vms[0]!.id }] });
      const start = await runs.startBackup({ jobId: job.id, trigger: 'user', triggeredBy: 'racer' });
      // VM i is due at t0 + i s, in a session older the later it is due: each round's
      // first choice is another VM, so that rounds that did not wait for each other
      // would each take the one slot.
      await db.session.update({ where: { id: start.sessionId! }, data: { startedAt: new Date(t0 - i * 60_000) } });
      await db.task.updateMany({ where: { sessionId: start.sessionId! }, data: { notBefore: new Date(t0 + i * 1000) } });
      units.push(start.sessionId!);
    }
    await Promise.all(units.map((_, i) => runs.dispatch(new Date(t0 + i * 1000 + 500))));
    const running = await db.task.findMany({
      where: { status: 'running', session: { repositoryId: repository.id } },
      select: { sessionId: true, moverId: true },
    });
    expect(running).toHaveLength(1);
    expect(running[0]!.moverId).toBe(mover.id);
    // The message to the mover went into the outbox with the claim, once.
    expect(await db.outboxMessage.count({ where: { name: 'vm.run', jobId: { contains: running[0]!.sessionId } } })).toBe(1);
  });
});

describe('a repository path is unique (an index)', () => {
  it('of six creates at once with one path, one is made; the others are told the field', async () => {
    const path = `/var/tmp/strongbox-race-${Date.now()}`;
    const repositories = new BackupRepositories(db);
    const results = await settle(
      Array.from(
        { length: 6 },
        (_, i) => () =>
          repositories.create({
            name: `race-${i}-${Date.now()}`,
            path: i % 2 ? `${path}/` : path,
            maxConcurrentTasks: 1,
            readRateLimit: null,
            writeRateLimit: null,
            verifyEveryDays: 7,
          }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((x) => x.status === 'rejected')) {
      const error = (r as PromiseRejectedResult).reason as AppError;
      expect(error).toBeInstanceOf(AppError);
      expect(error.details).toEqual({ fields: [{ field: 'path', message: 'already a repository' }] });
    }
    expect(await db.backupRepository.count({ where: { path } })).toBe(1);
  });
});

describe('the last administrator stays one (a row lock)', () => {
  it('two administrators demoting each other at once: one succeeds, one administrator is left', async () => {
    const users = new Users(db);
    const admins = await db.user.findMany({ where: { role: 'Administrator' } });
    expect(admins).toHaveLength(0);
    let survivor = await users.create({ email: `admin-0-${Date.now()}@race.test`, name: 'A0', role: 'Administrator', password: 'a-long-password-1' });
    // Five rounds: each adds one administrator, then the two race to demote each other.
    for (let round = 1; round <= 5; round++) {
      const rival = await users.create({
        email: `admin-${round}-${Date.now()}@race.test`,
        name: `A${round}`,
        role: 'Administrator',
        password: 'a-long-password-1',
      });
      const [a, b] = [(await users.byId(survivor.id))!, rival];
      const results = await settle([
        () => users.updateChecked(a.id, b.id, { version: b.version, role: 'Viewer' }),
        () => users.updateChecked(b.id, a.id, { version: a.version, role: 'Viewer' }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((refused.reason as AppError).message).toBe('the last active administrator must stay one');
      const left = await db.user.findMany({ where: { role: 'Administrator', disabled: false } });
      expect(left).toHaveLength(1);
      survivor = (await users.byId(left[0]!.id))!;
    }
  });

  it('deleting the other administrator while being demoted by them: one of the two, never both', async () => {
    const users = new Users(db);
    const [survivor] = await db.user.findMany({ where: { role: 'Administrator', disabled: false } });
    const rival = await users.create({ email: `admin-del-${Date.now()}@race.test`, name: 'D', role: 'Administrator', password: 'a-long-password-1' });
    const a = (await users.byId(survivor!.id))!;
    const results = await settle<unknown>([
      () => users.deleteChecked(a.id, rival.id),
      () => users.updateChecked(rival.id, a.id, { version: a.version, role: 'Viewer' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await db.user.count({ where: { role: 'Administrator', disabled: false } })).toBe(1);
  });
});
