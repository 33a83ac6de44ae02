import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Runs } from '@strongbox/db';
import { Repository } from '@strongbox/repository';
import { cleanup, controller, db, ended, env, quiet, redis, waitFor } from './run-fixture.js';
import { MoverRole } from '../src/mover/mover-role.js';

// Maintenance runs where the store is: on a mover that found the repository's store at its
// path. Where none has, or the store has gone from under one, the health check fails with
// the reason, and nothing is created at the path (an empty store verified would report "0
// chunks, 0 bad": a success that checked nothing).
afterAll(async () => {
  await cleanup();
  await db.$disconnect();
  redis.disconnect();
});

const logOf = async (sessionId: string) => (await db.sessionLog.findMany({ where: { sessionId }, orderBy: { id: 'asc' } })).map((l) => l.message).join('\n');

describe('maintenance where the store is', () => {
  it('a health check that no mover can see the store for fails loudly, and creates nothing', async () => {
    const path = join(tmpdir(), `strongbox-elsewhere-${randomBytes(4).toString('hex')}`);
    const repo = await db.backupRepository.create({ data: { name: `elsewhere-${randomBytes(3).toString('hex')}`, path } });
    await controller();
    const start = await new Runs(db).startMaintenance({ repositoryId: repo.id, operation: 'verify', triggeredBy: 'test' });
    expect(start.started).toBe(true);
    const session = await ended(start.sessionId!, 30_000);
    expect(session.status).toBe('failed');
    expect(session.tasks[0]!.error).toMatch(/no enabled mover sees this repository/);
    expect(await logOf(session.id)).toMatch(/Health check: elsewhere-.*no enabled mover sees this repository at its path/);
    expect(existsSync(path)).toBe(false);
    expect((await db.backupRepository.findUniqueOrThrow({ where: { id: repo.id } })).lastVerifiedAt).toBeNull();
  });

  it('a mover whose store went away fails the health check, naming the path, and creates nothing', async () => {
    const path = mkdtempSync(join(tmpdir(), 'strongbox-gone-'));
    rmSync(path, { recursive: true });
    await Repository.create(path);
    const repo = await db.backupRepository.create({ data: { name: `gone-${randomBytes(3).toString('hex')}`, path } });
    const mover = new MoverRole(
      db,
      redis,
      env.STRONGBOX_REDIS_PREFIX,
      { name: `mv-maint-${randomBytes(3).toString('hex')}`, site: 'lab', softwareVersion: 'test' },
      quiet,
    );
    await mover.start();
    try {
      // It saw the store when it started; the store is unmounted before it looks again.
      expect((await db.mover.findUniqueOrThrow({ where: { id: mover.id! } })).repositoryIds).toContain(repo.id);
      rmSync(path, { recursive: true });
      await controller();
      const start = await new Runs(db).startMaintenance({ repositoryId: repo.id, operation: 'verify', triggeredBy: 'test' });
      const session = await ended(start.sessionId!, 30_000);
      expect(session.status).toBe('failed');
      expect(session.tasks[0]!.moverId).toBe(mover.id);
      expect(session.tasks[0]!.error).toContain(`the store of repository ${repo.name} is not at ${path} on this mover`);
      expect(existsSync(path)).toBe(false);
    } finally {
      await mover.stop();
    }
  });

  it('a retention on a mover that sees the store closes with what it removed', async () => {
    const path = mkdtempSync(join(tmpdir(), 'strongbox-kept-'));
    rmSync(path, { recursive: true });
    await Repository.create(path);
    const repo = await db.backupRepository.create({ data: { name: `kept-${randomBytes(3).toString('hex')}`, path } });
    const mover = new MoverRole(
      db,
      redis,
      env.STRONGBOX_REDIS_PREFIX,
      { name: `mv-ret-${randomBytes(3).toString('hex')}`, site: 'lab', softwareVersion: 'test' },
      quiet,
    );
    await mover.start();
    try {
      await controller();
      const start = await new Runs(db).startMaintenance({ repositoryId: repo.id, operation: 'retention', triggeredBy: 'test' });
      const session = await waitFor('the retention to end', async () => {
        const s = await db.session.findUniqueOrThrow({ where: { id: start.sessionId! } });
        return s.endedAt ? s : null;
      });
      expect(session).toMatchObject({ status: 'success', summary: { deleted: 0 }, kind: 'maintenance' });
      // Nothing was removed, so no space reclamation follows.
      expect(await db.session.count({ where: { startKey: `gc-${session.id}` } })).toBe(0);
    } finally {
      await mover.stop();
      rmSync(path, { recursive: true, force: true });
    }
  });
});
