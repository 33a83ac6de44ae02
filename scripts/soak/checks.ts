import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { commandLine, processesWhere } from '@strongbox/config';
import type { PrismaClient } from '@strongbox/db';
import { DEFAULT_WORK_DIR, scratchLeftovers } from '@strongbox/hypervisors';
import { restoreDisk } from '@strongbox/pipeline';
import { Repository } from '@strongbox/repository';

/** What the guests read when a run started: session → VM external id → disk → md5. */
export type Expected = Map<string, Map<string, Map<string, string>>>;

async function md5OfFile(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every point whose run's guest reads were recorded is restored and compared; returns [checked, mismatched ids]. */
export async function restoreEveryPoint(repositoryPath: string, expected: Expected, scratch: string): Promise<{ checked: number; mismatches: string[] }> {
  const repo = await Repository.open(repositoryPath);
  let checked = 0;
  const mismatches: string[] = [];
  for (const point of await repo.listPoints()) {
    const sessionId = typeof point.job?.sessionId === 'string' ? point.job.sessionId : null;
    const want = sessionId ? expected.get(sessionId)?.get(point.vmId) : undefined;
    if (!want) continue;
    const reader = await repo.openPoint(point.id);
    for (const disk of point.disks) {
      const out = join(scratch, 'restore.raw');
      await restoreDisk(reader, disk.name, out);
      const got = await md5OfFile(out);
      await rm(out, { force: true });
      checked++;
      if (got !== want.get(disk.name)) mismatches.push(`${point.id} ${disk.name}`);
    }
  }
  return { checked, mismatches };
}

/** What must be gone once every run has ended: libvirt jobs, scratch files, qemu-nbd, leases, temporary files, points the catalog lacks. */
export async function leftovers(
  db: PrismaClient,
  vmNames: string[],
  repositoryId: string,
  repositoryPath: string,
  workDir = DEFAULT_WORK_DIR,
): Promise<string[]> {
  const found: string[] = [];
  for (const name of vmNames) {
    const state = execFileSync('virsh', ['-q', '-c', 'qemu:///system', 'domstate', name], { encoding: 'utf8' }).trim();
    if (state === 'running' && !/None/.test(execFileSync('virsh', ['-q', '-c', 'qemu:///system', 'domjobinfo', name], { encoding: 'utf8' }))) {
      found.push(`libvirt job on ${name}`);
    }
  }
  found.push(...scratchLeftovers(workDir).map((f) => `scratch ${f}`));
  const nbd = processesWhere((cmd) => cmd.includes('qemu-nbd') && cmd.includes(workDir));
  found.push(...nbd.map((pid) => `process ${commandLine(pid)}`));
  found.push(...readdirSync(join(repositoryPath, 'locks')).map((f) => `lease ${f}`));
  const tmp = execFileSync('find', [repositoryPath, '-name', '*.tmp*'], { encoding: 'utf8' }).trim();
  if (tmp) found.push(...tmp.split('\n').map((f) => `temporary ${f}`));
  const repo = await Repository.open(repositoryPath);
  const stored = new Set((await repo.listPoints()).map((p) => p.id));
  const catalogued = new Set((await db.restorePoint.findMany({ where: { repositoryId }, select: { path: true } })).map((p) => p.path));
  for (const id of stored) if (!catalogued.has(id)) found.push(`point ${id} not in the catalog`);
  for (const id of catalogued) if (!stored.has(id)) found.push(`catalogued point ${id} not in the store`);
  found.push(...(await repo.scan()).unfinished.map((id) => `unfinished point ${id}`));
  return found;
}

/** Sessions by result, failures by their reason, units that needed more than one attempt. */
export async function figures(db: PrismaClient, jobId: string) {
  const sessions = await db.session.findMany({ where: { jobId }, select: { status: true, tasks: { select: { attempt: true, error: true, status: true } } } });
  const byStatus: Record<string, number> = {};
  const causes: Record<string, number> = {};
  let retried = 0;
  for (const s of sessions) {
    byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
    for (const t of s.tasks) {
      if (t.attempt > 1) retried++;
      if (t.error && t.status !== 'success') causes[t.error.split(';')[0]!] = (causes[t.error.split(';')[0]!] ?? 0) + 1;
    }
  }
  return { runs: sessions.length, byStatus, causes, retried };
}
