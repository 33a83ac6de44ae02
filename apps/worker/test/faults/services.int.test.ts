import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUnavailableReason } from '../../../../scripts/lab/index.js';
import { cleanup, controller, db, ended, env, job, labEstate, movers, redis, repository, startJob, tag, waitFor } from '../run-fixture.js';
import { expectCatalogMatchesStore, expectLatestRestoresAsGuestReads, expectNothingLeft, MoverProcess } from './fault-fixture.js';

const unavailable = labUnavailableReason();
if (unavailable) console.warn(`SKIPPING service fault tests: ${unavailable}`);

const root = join(import.meta.dirname, '../../../..');

/** A controller in a process of its own, so that it can be killed mid-run. */
function controllerProcess(): { child: ChildProcess; exited: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'apps/worker/src/main.ts'), '--role', 'controller'], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return { child, exited: new Promise((resolve) => child.once('exit', () => resolve())) };
}

/** Every connection to the run's database dropped at once, and new ones refused for a while: what a PostgreSQL restart does to its clients. */
async function restartDatabase(outageMs: number): Promise<void> {
  const url = new URL(env.DATABASE_URL);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    await new Promise((r) => setTimeout(r, outageMs));
  } finally {
    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
    await admin.end();
  }
}

/** What a Redis without persistence loses when it restarts: every key of this run (queues, the leader lease), and every client connection. */
async function restartRedisEmpty(): Promise<void> {
  const keys = await redis.keys(`${env.STRONGBOX_REDIS_PREFIX}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
}

describe.skipIf(unavailable)('the run survives its services failing under it', () => {
  let estate: Awaited<ReturnType<typeof labEstate>>;
  const mover = new MoverProcess(`mv-svc-${tag}`);
  const vmName = `sblab-sv-${tag}`;

  beforeAll(async () => {
    estate = await labEstate([{ name: 'sv', disksMiB: [24] }]);
    await estate.guests.sv!.guest.write('vda', 0, 12 * 1024, 'random');
    await movers([]);
    await mover.start();
  });
  afterAll(async () => {
    await mover.kill();
    await cleanup();
    await db.$disconnect();
    redis.disconnect();
  });

  const setup = async () => {
    const repo = await repository({ maxConcurrentTasks: 2, writeRateLimit: 3n * 1024n * 1024n });
    const j = await job({
      connectionId: estate.connectionId,
      repositoryId: repo.id,
      objects: [{ type: 'vm', vmId: estate.vmIds.sv! }],
      schedule: { kind: 'manual' },
    });
    return { repo, j };
  };
  const externalId = async () => (await db.vm.findUniqueOrThrow({ where: { id: estate.vmIds.sv! } })).externalId;
  const reading = (sessionId: string) => waitFor('the VM to be read', () => db.task.findFirst({ where: { sessionId, bytesRead: { gt: 0 } } }));

  it('the controller killed mid-run: another one carries the run to its end', async () => {
    const { repo, j } = await setup();
    const first = controllerProcess();
    const sessionId = await startJob(j.id);
    await reading(sessionId);
    first.child.kill('SIGKILL');
    await first.exited;
    // Its leader lease lapses (15 s); the standby takes over from the rows.
    await controller();
    const done = await ended(sessionId, 180_000);
    expect(done.status).toBe('success');
    await expectCatalogMatchesStore(repo.id, repo.path);
    await expectNothingLeft(vmName, repo.path);
  });

  it('PostgreSQL restarted mid-run (every connection dropped, then 5 s refused): the run ends, and right', async () => {
    const { repo, j } = await setup();
    await controller();
    const sessionId = await startJob(j.id);
    await reading(sessionId);
    await restartDatabase(5_000);
    const done = await ended(sessionId, 180_000);
    expect(['success', 'warning']).toContain(done.status);
    await expectCatalogMatchesStore(repo.id, repo.path);
    await expectLatestRestoresAsGuestReads(repo.path, await externalId(), estate.guests.sv!.guest);
  });

  it('Redis restarted empty mid-run (queues and the leader lease lost): the run ends, and right', async () => {
    const { repo, j } = await setup();
    await controller({ stalledAfterMs: 20_000 });
    const sessionId = await startJob(j.id);
    await reading(sessionId);
    await restartRedisEmpty();
    const done = await ended(sessionId, 240_000);
    expect(done.status).toBe('success');
    await expectCatalogMatchesStore(repo.id, repo.path);
    await expectLatestRestoresAsGuestReads(repo.path, await externalId(), estate.guests.sv!.guest);
  });
});
