import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibvirtConnector, runJanitor, type BackupView } from '../src/index.js';
import type { GuestConsole, LabVm } from '../../../scripts/lab/index.js';
import { backupToDir, lab, labVm, LAB_URI, processesMentioning, removeLabVm, sameAsImage, unavailable, virsh, workDir } from './lab-fixture.js';

const here = dirname(fileURLToPath(import.meta.url));
const name = `sblab-jan-${process.pid}`;

/** Starts a mover in another process and waits until it is exporting. */
async function startMover(work: string, since: string | null): Promise<{ kill: () => Promise<void>; checkpoint: string }> {
  // node itself (not the tsx wrapper, which would survive as a parent): SIGKILL must hit the mover.
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures/mover-child.ts'), LAB_URI, name, work, since ?? '-'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: join(here, '../../..'),
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const checkpoint = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      const m = /EXPORTING (\S+)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`mover exited (${code}) before exporting: ${stderr}`)));
  });
  return {
    checkpoint,
    kill: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe.skipIf(unavailable)('a mover killed mid-backup, and a raw disk', () => {
  let vm: LabVm;
  let guest: GuestConsole;
  let connector: LibvirtConnector;
  const out = mkdtempSync(join(tmpdir(), 'strongbox-janitor-'));
  const work = workDir('janitor');
  let full: BackupView;

  beforeAll(async () => {
    await lab();
    ({ vm, guest } = await labVm({ name, disks: [{ sizeMiB: 64 }, { sizeMiB: 32, format: 'raw' }] }));
    connector = await LibvirtConnector.connect({ uri: LAB_URI, workDir: work });
    full = await connector.openBackup({ vm: name, sinceCheckpoint: null });
    await backupToDir(full, join(out, 'full'));
    await full.release('success');
  });
  afterAll(async () => {
    guest?.close();
    await removeLabVm(name);
    rmSync(out, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('leaves no backup job, export, checkpoint or scratch file of a killed mover once the janitor ran (running VM)', async () => {
    const mover = await startMover(work, full.checkpoint);
    expect(virsh('domjobinfo', name)).toMatch(/Backup/);
    expect(readdirSync(work).length).toBeGreaterThan(0);
    await mover.kill();
    // The owner is dead but libvirt's job lives on until someone ends it.
    expect(virsh('domjobinfo', name)).toMatch(/Backup/);
    const actions = await runJanitor({ workDir: work });
    expect(actions).toHaveLength(1);
    expect(virsh('domjobinfo', name)).toMatch(/Job type:\s+None/);
    expect(readdirSync(work)).toEqual([]);
    expect(virsh('checkpoint-list', name, '--name').trim()).toBe(full.checkpoint);
  });

  it('the next backup is a clean incremental; the raw disk is read whole with a warning', async () => {
    await guest.write('vda', 1024, 512, 'afterkill');
    await guest.write('vdb', 2048, 256, 'rawdisk');
    const view = await connector.openBackup({ vm: name, sinceCheckpoint: full.checkpoint });
    expect(view.base).toBe(full.checkpoint);
    expect(view.disks.map((d) => [d.target, d.mode])).toEqual([
      ['vda', 'changed'],
      ['vdb', 'allocated'],
    ]);
    expect(view.log).toContainEqual(expect.objectContaining({ level: 'warning', code: 'CBT_UNSUPPORTED_FORMAT' }));
    const copied = await backupToDir(view, join(out, 'inc'), join(out, 'full'));
    expect(copied.vda!.bytesRead).toBe(512 * 1024);
    await view.release('success');
    full = view;
    guest.close();
    virsh('destroy', name);
    expect(sameAsImage(join(out, 'inc', 'vda.raw'), vm.disks[0]!.path)).toBe(true);
    expect(sameAsImage(join(out, 'inc', 'vdb.raw'), vm.disks[1]!.path, 'raw')).toBe(true);
  });

  it('kills the qemu-nbd and drops the bitmap of a mover killed while exporting a stopped VM', async () => {
    const mover = await startMover(work, full.checkpoint);
    await mover.kill();
    expect(processesMentioning(work).length).toBeGreaterThan(0);
    const actions = await runJanitor({ workDir: work });
    expect(actions).toHaveLength(1);
    expect(actions[0]!.did.join('; ')).toMatch(/killed qemu-nbd/);
    expect(processesMentioning(work)).toEqual([]);
    expect(readdirSync(work)).toEqual([]);
    expect(virsh('checkpoint-list', name, '--name').trim()).toBe(full.checkpoint);
    const { imageBitmapNames } = await import('./lab-fixture.js');
    expect(imageBitmapNames(vm.disks[0]!.path)).toEqual([full.checkpoint]);
  });

  it('"require successful processing" fails a VM without a guest agent and leaves nothing behind', async () => {
    virsh('start', name);
    const error = await connector.openBackup({ vm: name, sinceCheckpoint: full.checkpoint, requireQuiesce: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'HV_QUIESCE_FAILED', message: expect.stringContaining('qemu-guest-agent') });
    expect(readdirSync(work)).toEqual([]);
    expect(virsh('domjobinfo', name)).toMatch(/Job type:\s+None/);
    expect(virsh('checkpoint-list', name, '--name').trim()).toBe(full.checkpoint);
    const view = await connector.openBackup({ vm: name, sinceCheckpoint: full.checkpoint });
    expect(view.consistency).toBe('crash');
    expect(view.log).toContainEqual(expect.objectContaining({ level: 'info', code: 'QUIESCE_SKIPPED' }));
    await view.release('failure');
    expect(virsh('checkpoint-list', name, '--name').trim()).toBe(full.checkpoint);
    virsh('destroy', name);
  });

  it('leaves the jobs of live movers alone', async () => {
    const mover = await startMover(work, full.checkpoint);
    expect(await runJanitor({ workDir: work })).toEqual([]);
    expect(processesMentioning(work).length).toBeGreaterThan(0);
    await mover.kill();
    await runJanitor({ workDir: work });
    expect(existsSync(work) && readdirSync(work)).toEqual([]);
  });
});

describe.skipIf(unavailable)('bad input', () => {
  afterAll(() => rmSync(workDir('bad'), { recursive: true, force: true }));

  it('an unknown VM is named in a clear error', async () => {
    const connector = await LibvirtConnector.connect({ uri: LAB_URI, workDir: workDir('bad') });
    await expect(connector.openBackup({ vm: 'sblab-no-such-vm', sinceCheckpoint: null })).rejects.toMatchObject({
      code: 'HV_VM_NOT_FOUND',
      message: expect.stringContaining('sblab-no-such-vm'),
    });
    await expect(connector.getVm('sblab-no-such-vm')).rejects.toMatchObject({ code: 'HV_VM_NOT_FOUND' });
  });

  it('an unreachable libvirt URI says so', async () => {
    await expect(LibvirtConnector.connect({ uri: 'qemu+unix:///system?socket=/nonexistent/libvirt-sock', workDir: workDir('bad') })).rejects.toMatchObject({
      code: 'HV_UNREACHABLE',
      message: expect.stringContaining('unreachable'),
    });
  });
});
