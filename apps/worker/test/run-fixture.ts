import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { JobSpecInput, SessionId } from '@strongbox/core';
import { jobSpecSchema } from '@strongbox/core';
import { parseEnv } from '@strongbox/config';
import { BackupJobs, createPrismaClient, Inventory, Runs } from '@strongbox/db';
import {
  defineLabVm,
  destroyLabVm,
  ensureLab,
  startLabVm,
  type GuestConsole,
  type LabDiskSpec,
  type LabPaths,
  type LabVm,
} from '../../../scripts/lab/index.js';
import { Controller } from '../src/controller/controller.js';
import { rescanConnection } from '../src/controller/rescan.js';
import { MoverRole } from '../src/mover/mover-role.js';

export const env = parseEnv(process.env);
export const db = createPrismaClient(env.DATABASE_URL);
export const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
export const quiet = pino({ level: 'silent' });
export const tag = randomBytes(3).toString('hex');

let paths: LabPaths | null = null;
const vms: string[] = [];
const guests: GuestConsole[] = [];
const dirs: string[] = [];
const stops: (() => Promise<void>)[] = [];

/** Lab VMs (started), each with disks of the given sizes in MiB, in the inventory of a new connection. */
export async function labEstate(specs: ({ name: string; agent?: boolean } & ({ disksMiB: number[] } | { disks: LabDiskSpec[] }))[]) {
  paths ??= await ensureLab();
  const out: Record<string, { guest: GuestConsole; vm: LabVm }> = {};
  for (const spec of specs) {
    const name = `sblab-${spec.name}-${tag}`;
    vms.push(name);
    const disks = 'disks' in spec ? spec.disks : spec.disksMiB.map((sizeMiB) => ({ sizeMiB }));
    const vm = await defineLabVm(paths, { name, disks, ...(spec.agent ? { agent: true } : {}) });
    const guest = await startLabVm(vm);
    guests.push(guest);
    out[spec.name] = { guest, vm };
  }
  const connection = await new Inventory(db).createConnection({ name: `local-${tag}-${randomBytes(2).toString('hex')}`, uri: 'qemu:///system' });
  await rescanConnection(db, connection.id);
  const rows = await db.vm.findMany({
    where: { connectionId: connection.id, name: { in: specs.map((s) => `sblab-${s.name}-${tag}`) } },
    select: { id: true, name: true },
  });
  const ids = Object.fromEntries(rows.map((r) => [r.name.replace(`sblab-`, '').replace(`-${tag}`, ''), r.id]));
  return { connectionId: connection.id, vmIds: ids as Record<string, string>, guests: out, paths };
}

export async function repository(limits: { maxConcurrentTasks: number; writeRateLimit?: bigint | null }) {
  const path = mkdtempSync(join(tmpdir(), 'strongbox-run-repo-'));
  dirs.push(path);
  rmSync(path, { recursive: true });
  return db.backupRepository.create({
    data: {
      name: `repo-${randomBytes(4).toString('hex')}`,
      path,
      kind: 'local',
      maxConcurrentTasks: limits.maxConcurrentTasks,
      writeRateLimit: limits.writeRateLimit ?? null,
    },
  });
}

export async function job(spec: Omit<JobSpecInput, 'name' | 'retention'> & Partial<Pick<JobSpecInput, 'retention'>>) {
  const parsed = jobSpecSchema.parse({ name: `job-${randomBytes(4).toString('hex')}`, retention: { keepPoints: 7 }, ...spec });
  return new BackupJobs(db).create(parsed, null);
}

/** Only this test's movers take work: others left registered by earlier tests are disabled. */
export async function movers(specs: { name: string; maxConcurrentTasks: number }[]) {
  const names = specs.map((s) => `${s.name}-${tag}`);
  const started: MoverRole[] = [];
  for (const spec of specs) {
    const mover = new MoverRole(
      db,
      redis,
      env.STRONGBOX_REDIS_PREFIX,
      { name: `${spec.name}-${tag}`, site: 'lab', maxConcurrentTasks: spec.maxConcurrentTasks, softwareVersion: 'test' },
      quiet,
    );
    await mover.start();
    await db.mover.update({ where: { id: mover.id! }, data: { maxConcurrentTasks: spec.maxConcurrentTasks, enabled: true } });
    stops.push(() => mover.stop());
    started.push(mover);
  }
  await db.mover.updateMany({ where: { name: { notIn: names } }, data: { enabled: false } });
  return started;
}

export async function controller(options: ConstructorParameters<typeof Controller>[4] = {}) {
  const c = new Controller(db, redis, env.STRONGBOX_REDIS_PREFIX, quiet, { tickMs: 500, ...options });
  await c.start();
  stops.push(() => c.stop());
  return c;
}

/** A user's start of the job, as the API makes it: the session's id comes back. */
export async function startJob(jobId: string): Promise<SessionId> {
  const start = await new Runs(db).startBackup({ jobId, trigger: 'user', triggeredBy: 'test' });
  if (!start.started) throw new Error(`the job did not start: ${start.reason}`);
  return start.sessionId;
}

/** Polls until `probe` answers; a probe that throws (the database restarting under a fault test) is asked again, and its last error told at the timeout. */
export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function ended(sessionId: string, timeoutMs?: number) {
  return waitFor(
    'the session to end',
    async () => {
      const s = await db.session.findUniqueOrThrow({ where: { id: sessionId }, include: { tasks: { include: { vm: true } } } });
      return s.endedAt ? s : null;
    },
    timeoutMs,
  );
}

/** A guest console opened by a test (after it restarted a VM), closed at cleanup. */
export function track(guest: GuestConsole): GuestConsole {
  guests.push(guest);
  return guest;
}

/** Everything is undone even when a step fails (a leaked lab VM would slow every later test); the first failure is thrown last. */
export async function cleanup() {
  const failures: unknown[] = [];
  const attempt = async (step: () => unknown) => {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  };
  for (const stop of stops.splice(0).reverse()) await attempt(stop);
  for (const g of guests) g.close();
  if (paths) for (const name of vms) await attempt(() => destroyLabVm(paths!, name));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await attempt(() => db.mover.updateMany({ data: { enabled: true } }));
  if (failures.length > 0) throw failures[0];
}
