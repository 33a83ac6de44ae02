import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Failpoint } from '@strongbox/config';
import { DEFAULT_WORK_DIR, scratchLeftovers } from '@strongbox/hypervisors';
import { restoreDisk } from '@strongbox/pipeline';
import { Repository } from '@strongbox/repository';
import type { GuestConsole } from '../../../../scripts/lab/index.js';
import { db, waitFor } from '../run-fixture.js';

const root = join(import.meta.dirname, '../../../..');

/**
 * A mover in a process of its own, so that the suite can kill it as a crash would and
 * start it again under the same name (and so the same mover id), as a supervisor does.
 */
export class MoverProcess {
  private child: ChildProcess | null = null;
  private exit: Promise<number | null> = Promise.resolve(null);

  constructor(readonly name: string) {}

  async start(failpoint?: Failpoint): Promise<string> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'apps/worker/src/main.ts'), '--role', 'mover'], {
      cwd: root,
      env: {
        ...process.env,
        STRONGBOX_MOVER_NAME: this.name,
        STRONGBOX_SITE: 'lab',
        LOG_LEVEL: 'warn',
        ...(failpoint ? { STRONGBOX_FAILPOINT: failpoint } : {}),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    this.child = child;
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ? 128 : code)));
    const started = Date.now();
    const row = await waitFor(`mover ${this.name} to register`, () =>
      db.mover.findFirst({ where: { name: this.name, lastHeartbeatAt: { gte: new Date(started - 1000) } } }),
    );
    return row.id;
  }

  /** Resolves with the exit when the process ends by itself (a failpoint's SIGKILL). */
  died(timeoutMs = 120_000): Promise<number | null> {
    return Promise.race([this.exit, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`mover ${this.name} did not die`)), timeoutMs))]);
  }

  async kill(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exit;
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exit;
  }
}

/** What a crashed backup must never leave: a libvirt backup job, scratch files, qemu-nbd, leases, temporary files. */
export async function expectNothingLeft(vmName: string, repositoryPath: string): Promise<void> {
  // A VM that is not running has no job to ask about (and virsh refuses to be asked).
  const state = execFileSync('virsh', ['-q', '-c', 'qemu:///system', 'domstate', vmName], { encoding: 'utf8' }).trim();
  if (state === 'running') expect(execFileSync('virsh', ['-q', '-c', 'qemu:///system', 'domjobinfo', vmName], { encoding: 'utf8' })).toMatch(/None/);
  // Files, not folders: the mover keeps its (empty) folders for restore journals and instant recoveries.
  expect(scratchLeftovers(), 'scratch files of the mover').toEqual([]);
  const qemuNbd = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes('qemu-nbd') && l.includes(DEFAULT_WORK_DIR));
  expect(qemuNbd, 'qemu-nbd processes').toEqual([]);
  expect(readdirSync(join(repositoryPath, 'locks')), 'writer leases').toEqual([]);
  const temporary = execFileSync('find', [repositoryPath, '-name', '*.tmp*'], { encoding: 'utf8' }).trim();
  expect(temporary, 'temporary files in the repository').toBe('');
}

/** The catalog and the store agree: every committed point is catalogued, and nothing else is. */
export async function expectCatalogMatchesStore(repositoryId: string, repositoryPath: string): Promise<void> {
  const stored = (await (await Repository.open(repositoryPath)).listPoints()).map((p) => p.id).sort();
  const catalogued = (await db.restorePoint.findMany({ where: { repositoryId }, select: { path: true } })).map((p) => p.path).sort();
  expect(catalogued).toEqual(stored);
  const unfinished = (await (await Repository.open(repositoryPath)).scan()).unfinished;
  expect(unfinished, 'unfinished point folders').toEqual([]);
}

async function md5OfFile(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The latest point of the VM restores to exactly what the guest reads on each of its disks. */
export async function expectLatestRestoresAsGuestReads(repositoryPath: string, externalId: string, guest: GuestConsole): Promise<void> {
  const repo = await Repository.open(repositoryPath);
  const latest = (await repo.listPoints(externalId)).at(-1)!;
  const reader = await repo.openPoint(latest.id);
  for (const disk of latest.disks) {
    const out = join(tmpdir(), `strongbox-fault-${process.pid}-${disk.name}.raw`);
    try {
      await restoreDisk(reader, disk.name, out);
      expect(await md5OfFile(out), `${latest.id} ${disk.name}`).toBe(await guest.md5(disk.name, 0, disk.size / 1024));
    } finally {
      await rm(out, { force: true });
    }
  }
}
