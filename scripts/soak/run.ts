/**
 * pnpm soak [--minutes 120] [--vms 4] [--every 2] [--kill-every 10] — hours of backups with
 * crashes: lab VMs whose guests write between runs, a job of all of them every `every`
 * minutes, a SIGKILL of the controller or the mover every `kill-every` minutes, during a run
 * (started again two seconds later, as a supervisor would). At the end every run must have ended,
 * verify must be clean, every point must restore to what its guests read when its run
 * started, and nothing may be left behind. Prints its figures and a last SOAK line; exits
 * non-zero when a check fails. Not part of `npm test`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { jobSpecSchema } from '@strongbox/core';
import { BackupJobs, createPrismaClient, Inventory, Runs } from '@strongbox/db';
import { Repository } from '@strongbox/repository';
import { rescanConnection } from '../../apps/worker/src/controller/rescan.js';
import { defineLabVm, destroyLabVm, ensureLab, startLabVm, type GuestConsole } from '../lab/index.js';
import { checkEnvOrExit, childEnvironment, maintenanceDatabaseUrl, migrate, provideServices, ROOT } from '../launcher/provision.js';
import { figures, leftovers, restoreEveryPoint, type Expected } from './checks.js';
import { Child } from './children.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '120' },
    vms: { type: 'string', default: '4' },
    every: { type: 'string', default: '2' },
    'kill-every': { type: 'string', default: '10' },
  },
});
const minutes = Number(values.minutes);
const vmCount = Number(values.vms);
const everyMs = Number(values.every) * 60_000;
const killEveryMs = Number(values['kill-every']) * 60_000;
const id = randomBytes(3).toString('hex');
const started = Date.now();
const log = (line: string) => console.log(`[soak ${((Date.now() - started) / 60_000).toFixed(1)} min] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (n: number) => Math.floor(Math.random() * n);

const given = checkEnvOrExit();
const services = await provideServices(given.dataDir);
const dbName = `strongbox_soak_${id}`;
const url = new URL(services.databaseUrl);
url.pathname = `/${dbName}`;
await migrate(url.toString());
const db = createPrismaClient(url.toString());
const prefix = `sbsoak_${id}`;
// The soak's mover has a work dir of its own: tests running on this machine meanwhile use the
// default one, and neither's leftover check may count the other's jobs.
const workDir = `/var/tmp/strongbox-mover-soak-${id}`;
const env = childEnvironment(
  { ...services, databaseUrl: url.toString() },
  {
    STRONGBOX_REDIS_PREFIX: prefix,
    STRONGBOX_MOVER_NAME: `soak-mover-${id}`,
    STRONGBOX_DATA_DIR: join(given.dataDir, `soak-${id}`),
    STRONGBOX_MOVER_WORK_DIR: workDir,
  },
);
const scratch = join(given.dataDir, `soak-${id}`);
mkdirSync(scratch, { recursive: true });

const paths = await ensureLab();
const names = Array.from({ length: vmCount }, (_, i) => `sblab-soak${i}-${id}`);
const guests: GuestConsole[] = [];
const children = [new Child('controller', ROOT, env, log), new Child('mover', ROOT, env, log)];
const kills = { controller: 0, mover: 0 };
let failedChecks = 0;

try {
  for (const name of names) {
    const vm = await defineLabVm(paths, { name, disks: [{ sizeMiB: 32 }] });
    guests.push(await startLabVm(vm));
  }
  const connection = await new Inventory(db).createConnection({ name: `soak-${id}`, uri: 'qemu:///system' });
  await rescanConnection(db, connection.id);
  const vms = await db.vm.findMany({ where: { connectionId: connection.id, name: { in: names } }, orderBy: { name: 'asc' } });
  const repositoryPath = join(scratch, 'repository');
  // A write limit keeps each run long enough for a kill to land inside it.
  const repo = await db.backupRepository.create({
    data: { name: `soak-${id}`, path: repositoryPath, maxConcurrentTasks: 2, writeRateLimit: 1n * 1024n * 1024n },
  });
  const job = await new BackupJobs(db).create(
    jobSpecSchema.parse({
      name: `soak-${id}`,
      connectionId: connection.id,
      repositoryId: repo.id,
      objects: vms.map((v) => ({ type: 'vm', vmId: v.id })),
      retention: { keepPoints: 12 },
      schedule: { kind: 'manual' },
      retries: { count: 3, waitMinutes: 1 },
    }),
    null,
  );
  for (const c of children) c.start();
  const runs = new Runs(db);
  const expected: Expected = new Map();
  let current: string | null = null;
  let nextRun = Date.now();
  let nextKill = Date.now() + killEveryMs;
  const deadline = Date.now() + minutes * 60_000;
  while (Date.now() < deadline) {
    // A kill lands while a run is under way (it is due, and waits for one): a kill between runs tests little.
    const running = current ? (await db.session.findUnique({ where: { id: current }, select: { endedAt: true } }))?.endedAt === null : false;
    if (Date.now() >= nextKill && running) {
      const victim = children[rand(children.length)]!;
      kills[victim.role]++;
      log(`killing the ${victim.role} during run ${expected.size}`);
      victim.kill();
      nextKill += killEveryMs;
    }
    if (Date.now() >= nextRun) {
      nextRun += everyMs;
      const open = current ? await db.session.findUnique({ where: { id: current }, select: { endedAt: true } }) : null;
      if (current && open && !open.endedAt) {
        log('the last run is still going: this slot is skipped');
      } else {
        // The guests write only between runs, so that each point is the state read just before it started.
        const reads = new Map<string, Map<string, string>>();
        for (const [i, guest] of guests.entries()) {
          await guest.write('vda', rand(28 * 1024), 512 + rand(3 * 1024), 'random');
          reads.set(vms[i]!.externalId, new Map([['vda', await guest.md5('vda', 0, 32 * 1024)]]));
        }
        const start = await runs.startBackup({ jobId: job.id, trigger: 'user', triggeredBy: 'soak' });
        if (start.started) {
          current = start.sessionId;
          expected.set(start.sessionId, reads);
          log(`run ${expected.size} started`);
        }
      }
    }
    await sleep(5_000);
  }
  log('time is up: waiting for the last run and maintenance to end');
  const until = Date.now() + 20 * 60_000;
  while ((await db.session.count({ where: { endedAt: null, OR: [{ jobId: job.id }, { repositoryId: repo.id }] } })) > 0 && Date.now() < until)
    await sleep(5_000);
  for (const c of children) await c.stop();

  const report = await (await Repository.open(repositoryPath)).verify();
  const restored = await restoreEveryPoint(repositoryPath, expected, scratch);
  const left = await leftovers(db, names, repo.id, repositoryPath, workDir);
  const f = await figures(db, job.id);
  const stillOpen = await db.session.count({ where: { jobId: job.id, endedAt: null } });
  console.log(
    `\nruns: ${f.runs} (${Object.entries(f.byStatus)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ')}), still open: ${stillOpen}`,
  );
  console.log(`kills: controller ${kills.controller}, mover ${kills.mover}; restarts: ${children.map((c) => `${c.role} ${c.restarts}`).join(', ')}`);
  console.log(`VM attempts retried: ${f.retried}`);
  console.log(
    `failures by cause: ${
      Object.entries(f.causes)
        .map(([c, n]) => `${n}× ${c}`)
        .join('; ') || 'none'
    }`,
  );
  console.log(
    `verify: ${report.pointsChecked} points, ${report.chunksChecked} chunks, ${report.bad.length} bad, ${report.pointsDamaged} damaged, ${report.pointsUnreadable} unreadable`,
  );
  console.log(
    `restores: ${restored.checked} disks compared, ${restored.mismatches.length} differ${restored.mismatches.length ? `: ${restored.mismatches.join(', ')}` : ''}`,
  );
  console.log(`leftovers: ${left.length ? left.join('; ') : 'none'}`);
  failedChecks = stillOpen + report.bad.length + report.pointsDamaged + report.pointsUnreadable + restored.mismatches.length + left.length;
  console.log(
    `SOAK minutes=${minutes} runs=${f.runs} success=${f.byStatus.success ?? 0} failed=${f.byStatus.failed ?? 0} kills=${kills.controller + kills.mover} retried=${f.retried} points=${report.pointsChecked} restored=${restored.checked} mismatches=${restored.mismatches.length} bad_chunks=${report.bad.length} leftovers=${left.length}`,
  );
} finally {
  for (const c of children) await c.stop();
  for (const g of guests) g.close();
  for (const name of names) await destroyLabVm(paths, name);
  await db.$disconnect();
  const admin = new pg.Client({ connectionString: maintenanceDatabaseUrl(services.databaseUrl) });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await admin.end();
  const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 1 });
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await services.stop();
  rmSync(scratch, { recursive: true, force: true });
  rmSync(workDir, { recursive: true, force: true });
}
process.exit(failedChecks > 0 ? 1 : 0);
