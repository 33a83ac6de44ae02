import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibvirtConnector, type BackupView } from '../src/index.js';
import { backupToDir, processesMentioning, lab, labVm, LAB_URI, MiB, removeLabVm, sameAsImage, unavailable, virsh, workDir } from './lab-fixture.js';
import type { GuestConsole, LabVm } from '../../../scripts/lab/index.js';

const name = `sblab-cbt-${process.pid}`;
const KiB = 1024;
const GRANULARITY = 64 * KiB;

describe.skipIf(unavailable)('libvirt backups of a real guest (running, then stopped)', () => {
  let vm: LabVm;
  let guest: GuestConsole;
  let connector: LibvirtConnector;
  const out = mkdtempSync(join(tmpdir(), 'strongbox-cbt-'));
  const work = workDir('cbt');
  let last: BackupView;

  beforeAll(async () => {
    await lab();
    ({ vm, guest } = await labVm({ name, disks: [{ sizeMiB: 128 }, { sizeMiB: 64 }], agent: true }));
    connector = await LibvirtConnector.connect({ uri: LAB_URI, workDir: work });
  });
  afterAll(async () => {
    guest?.close();
    await removeLabVm(name);
    rmSync(out, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  const stopVm = () => {
    guest.close();
    // The guest fsyncs every write; destroy lets QEMU close the images and store the bitmaps.
    virsh('destroy', name);
  };

  it('lists the VM with its disks, power state and config', async () => {
    const vms = await connector.listVms();
    expect(vms).toContainEqual(expect.objectContaining({ name, power: 'running' }));
    const details = await connector.getVm(name);
    expect(details.disks.map((d) => [d.target, d.format, d.sizeBytes, d.cbtCapable])).toEqual([
      ['vda', 'qcow2', 128 * MiB, true],
      ['vdb', 'qcow2', 64 * MiB, true],
    ]);
    expect(details.configXml).toContain(`<name>${name}</name>`);
    expect(details.guestAgent).toBe(true);
    const hosts = await connector.listHosts();
    expect(hosts[0]!.cpus).toBeGreaterThan(0);
    const targets = await connector.restoreTargets();
    expect(targets.length).toBeGreaterThan(0);
    expect(targets[0]!.path).toMatch(/^\//);
  });

  it('takes an application-consistent full backup of the running VM', async () => {
    const view = await connector.openBackup({ vm: name, sinceCheckpoint: null });
    expect(view.base).toBeNull();
    expect(view.consistency).toBe('application');
    expect(view.disks.map((d) => d.mode)).toEqual(['allocated', 'allocated']);
    const copied = await backupToDir(view, join(out, 'p1'));
    // The lab seeds 8 MiB + 1 MiB of data on vda: allocated extents cover at least that, not the whole disk.
    expect(copied.vda!.bytesRead).toBeGreaterThanOrEqual(9 * MiB);
    expect(copied.vda!.bytesRead).toBeLessThan(128 * MiB);
    await view.release('success');
    expect(virsh('checkpoint-list', name, '--name').trim()).toBe(view.checkpoint);
    last = view;
  });

  it('reads exactly the ranges the guest wrote, and the rebuilt disks equal the live ones', async () => {
    const writes: [string, number, number][] = [
      ['vdb', 4096, 1024],
      ['vdb', 20480, 256],
      ['vda', 65536, 512],
      ['vda', 100 * 1024 + 64, 64], // not aligned to the bitmap granularity
    ];
    for (const [dev, off, len] of writes) await guest.write(dev, off, len, 'random');
    const view = await connector.openBackup({ vm: name, sinceCheckpoint: last.checkpoint });
    expect(view.base).toBe(last.checkpoint);
    expect(view.disks.map((d) => d.mode)).toEqual(['changed', 'changed']);
    expect(view.log.filter((l) => l.level === 'warning')).toEqual([]);
    const copied = await backupToDir(view, join(out, 'p2'), join(out, 'p1'));
    for (const target of ['vda', 'vdb']) {
      const mine = writes.filter((w) => w[0] === target);
      const written = mine.reduce((s, w) => s + w[2] * KiB, 0);
      const read = copied[target]!.bytesRead + copied[target]!.zeroBytes;
      expect(read).toBeGreaterThanOrEqual(written);
      expect(read).toBeLessThanOrEqual(written + mine.length * 2 * GRANULARITY);
    }
    await view.release('success');
    last = view;
    stopVm();
    expect(sameAsImage(join(out, 'p2', 'vda.raw'), vm.disks[0]!.path)).toBe(true);
    expect(sameAsImage(join(out, 'p2', 'vdb.raw'), vm.disks[1]!.path)).toBe(true);
  });

  it('backs up the stopped VM incrementally through qemu-nbd and its persistent bitmap', async () => {
    // Writes while running, then power off: the bitmap saved in the image carries them.
    virsh('start', name);
    const { GuestConsole } = await import('../../../scripts/lab/index.js');
    guest = await GuestConsole.connect(vm.consoleSocket);
    await guest.waitReady();
    await guest.write('vdb', 8192, 2048, 'stoppedcase');
    stopVm();
    const view = await connector.openBackup({ vm: name, sinceCheckpoint: last.checkpoint });
    expect(view.consistency).toBe('powered-off');
    expect(view.base).toBe(last.checkpoint);
    expect(view.disks.map((d) => d.mode)).toEqual(['changed', 'changed']);
    const copied = await backupToDir(view, join(out, 'p3'), join(out, 'p2'));
    expect(copied.vda!.bytesRead).toBe(0);
    expect(copied.vdb!.bytesRead).toBeGreaterThanOrEqual(2 * MiB);
    expect(copied.vdb!.bytesRead).toBeLessThanOrEqual(2 * MiB + 2 * GRANULARITY);
    await view.release('success');
    last = view;
    expect(sameAsImage(join(out, 'p3', 'vdb.raw'), vm.disks[1]!.path)).toBe(true);
    expect(readdirSync(work)).toEqual([]);
    expect(processesMentioning(work)).toEqual([]);
  });

  it('a bitmap deleted from a stopped image gives a warning and a correct full read', async () => {
    execFileSync('qemu-img', ['bitmap', '--remove', vm.disks[1]!.path, last.checkpoint]);
    const view = await connector.openBackup({ vm: name, sinceCheckpoint: last.checkpoint });
    expect(view.base).toBeNull();
    expect(view.log).toContainEqual(
      expect.objectContaining({ level: 'warning', code: 'CBT_DRIFT', message: expect.stringContaining('missing from disk vdb') }),
    );
    expect(view.disks.map((d) => d.mode)).toEqual(['allocated', 'allocated']);
    await backupToDir(view, join(out, 'p4'));
    await view.release('success');
    last = view;
    expect(sameAsImage(join(out, 'p4', 'vda.raw'), vm.disks[0]!.path)).toBe(true);
    expect(sameAsImage(join(out, 'p4', 'vdb.raw'), vm.disks[1]!.path)).toBe(true);
  });

  it('a bitmap deleted from a running VM gives a warning and a correct full read', async () => {
    virsh('start', name);
    const { GuestConsole } = await import('../../../scripts/lab/index.js');
    guest = await GuestConsole.connect(vm.consoleSocket);
    await guest.waitReady();
    const nodes = JSON.parse(virsh('qemu-monitor-command', name, '{"execute":"query-named-block-nodes","arguments":{"flat":true}}')) as {
      return: { 'node-name': string; file: string; drv: string }[];
    };
    const node = nodes.return.find((n) => n.drv === 'qcow2' && n.file === vm.disks[0]!.path)!['node-name'];
    virsh('qemu-monitor-command', name, JSON.stringify({ execute: 'block-dirty-bitmap-remove', arguments: { node, name: last.checkpoint } }));
    await guest.write('vdb', 512, 64, 'unseen');
    const view = await connector.openBackup({ vm: name, sinceCheckpoint: last.checkpoint });
    expect(view.base).toBeNull();
    expect(view.log).toContainEqual(
      expect.objectContaining({ level: 'warning', code: 'CBT_DRIFT', message: expect.stringContaining('missing from disk vda') }),
    );
    await backupToDir(view, join(out, 'p4b'));
    await view.release('success');
    last = view;
    guest.close();
    virsh('destroy', name);
    expect(sameAsImage(join(out, 'p4b', 'vda.raw'), vm.disks[0]!.path)).toBe(true);
    expect(sameAsImage(join(out, 'p4b', 'vdb.raw'), vm.disks[1]!.path)).toBe(true);
  });

  it('a deleted checkpoint of a running VM gives a warning, removes the orphan bitmaps, and reads whole', async () => {
    virsh('start', name);
    const { GuestConsole } = await import('../../../scripts/lab/index.js');
    guest = await GuestConsole.connect(vm.consoleSocket);
    await guest.waitReady();
    virsh('checkpoint-delete', name, last.checkpoint, '--metadata');
    await guest.write('vda', 2048, 128, 'afterdelete');
    const view = await connector.openBackup({ vm: name, sinceCheckpoint: last.checkpoint });
    const codes = view.log.filter((l) => l.level === 'warning').map((l) => l.code);
    expect(codes).toEqual(['CBT_DRIFT', 'CBT_STALE_BITMAP', 'CBT_STALE_BITMAP']);
    expect(view.base).toBeNull();
    await backupToDir(view, join(out, 'p5'));
    await view.release('success');
    // The next incremental works again on the repaired chain.
    await guest.write('vda', 4096, 64, 'again');
    const next = await connector.openBackup({ vm: name, sinceCheckpoint: view.checkpoint });
    expect(next.base).toBe(view.checkpoint);
    expect(next.log.filter((l) => l.level === 'warning')).toEqual([]);
    const copied = await backupToDir(next, join(out, 'p6'), join(out, 'p5'));
    expect(copied.vda!.bytesRead).toBe(64 * KiB);
    expect(copied.vdb!.bytesRead).toBe(0);
    await next.release('success');
    last = next;
    stopVm();
    expect(sameAsImage(join(out, 'p6', 'vda.raw'), vm.disks[0]!.path)).toBe(true);
    expect(sameAsImage(join(out, 'p6', 'vdb.raw'), vm.disks[1]!.path)).toBe(true);
  });

  it('exports over TCP, as for a remote host, with the same result', async () => {
    virsh('start', name);
    const { GuestConsole } = await import('../../../scripts/lab/index.js');
    guest = await GuestConsole.connect(vm.consoleSocket);
    await guest.waitReady();
    await guest.write('vdb', 30720, 1024, 'overtcp');
    const tcp = await LibvirtConnector.connect({ uri: LAB_URI, workDir: work, nbd: { transport: 'tcp', host: '127.0.0.1' } });
    const view = await tcp.openBackup({ vm: name, sinceCheckpoint: last.checkpoint });
    expect(view.base).toBe(last.checkpoint);
    expect(virsh('backup-dumpxml', name)).toMatch(/transport='tcp'/);
    const copied = await backupToDir(view, join(out, 'p7'), join(out, 'p6'));
    expect(copied.vdb!.bytesRead).toBe(MiB);
    expect(copied.vda!.bytesRead).toBe(0);
    await view.release('success');
    expect(virsh('domjobinfo', name)).toMatch(/Job type:\s+None/);
    stopVm();
    expect(sameAsImage(join(out, 'p7', 'vdb.raw'), vm.disks[1]!.path)).toBe(true);
  });
});
