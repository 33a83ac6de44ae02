import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibvirtConnector, RESTORED_QCOW2_CLUSTER_BYTES, runJanitor, type ImageExport } from '../src/index.js';
import { JobDir } from '../src/work-dir.js';
import type { GuestConsole, LabVm } from '../../../scripts/lab/index.js';
import {
  bytesAt,
  childSays,
  imageBitmapNames,
  lab,
  labVm,
  LAB_URI,
  MiB,
  parseRaw,
  processesMentioning,
  removeLabVm,
  unavailable,
  virsh,
  workDir,
} from './lab-fixture.js';

/** A new qcow2's metadata, a cluster each at most: header, refcount table, refcount block, L1 table. */
const EMPTY_QCOW2 = 4 * RESTORED_QCOW2_CLUSTER_BYTES;

const here = dirname(fileURLToPath(import.meta.url));
const pid = process.pid;
const POOL = `sblab-rs-pool-${pid}`;
const poolDir = `/var/tmp/strongbox-test-${pid}-rs-pool`;
const src = `sblab-rs-src-${pid}`;
const copy = `sblab-rs-copy-${pid}`;
const inst = `sblab-rs-inst-${pid}`;
const nicCopy = `sblab-rs-nic-${pid}`;
const KiB = 1024;

const sh = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });
const tryVirsh = (...args: string[]) => {
  try {
    return virsh(...args);
  } catch {
    return null; // cleanup of what a failed test may not have made
  }
};
const nbdUri = (e: ImageExport) => `nbd+unix:///?socket=${e.endpoint.kind === 'unix' ? e.endpoint.path : ''}`;
const volumes = () =>
  virsh('vol-list', POOL)
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter(Boolean);
const allocated = (path: string) => statSync(path).blocks * 512;
const persistentDisks = (vm: string) => [...virsh('dumpxml', '--inactive', vm).matchAll(/<source file='([^']+)'/g)].map((m) => m[1]);

let connector: LibvirtConnector;
const work = workDir('restore');

beforeAll(async () => {
  if (unavailable) return;
  await lab();
  tryVirsh('pool-destroy', POOL);
  tryVirsh('pool-undefine', POOL);
  rmSync(poolDir, { recursive: true, force: true });
  mkdirSync(poolDir, { recursive: true, mode: 0o755 });
  virsh('pool-define-as', POOL, 'dir', '--target', poolDir);
  virsh('pool-start', POOL);
  connector = await LibvirtConnector.connect({ uri: LAB_URI, workDir: work });
});
afterAll(() => {
  if (unavailable) return;
  tryVirsh('pool-destroy', POOL);
  tryVirsh('pool-undefine', POOL);
  rmSync(poolDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(unavailable)('storage pools and volumes', () => {
  it('lists the pool, refreshed, and offers it as a restore target', async () => {
    const pools = await connector.listPools();
    const pool = pools.find((p) => p.name === POOL)!;
    expect(pool).toMatchObject({ type: 'dir', path: poolDir, active: true });
    expect(pool.capacityBytes).toBeGreaterThan(0);
    expect(pool.availableBytes).toBeGreaterThan(0);
    expect(pool.availableBytes).toBeLessThanOrEqual(pool.capacityBytes);
    // Other writers on this disk move the figure between two calls: its kind and place are what must match.
    expect(await connector.restoreTargets()).toContainEqual({ kind: 'storage-pool', name: POOL, path: poolDir, availableBytes: expect.any(Number) });
  });

  it('creates sparse qcow2 (no preallocated metadata, 1 MiB clusters) and raw volumes, and deletes them, twice over', async () => {
    const q = await connector.createVolume(POOL, 'rs-a.qcow2', 256 * MiB, 'qcow2', 10 * MiB);
    const r = await connector.createVolume(POOL, 'rs-a.raw', 256 * MiB, 'raw', 10 * MiB);
    expect(q.path).toBe(join(poolDir, 'rs-a.qcow2'));
    const info = JSON.parse(sh('qemu-img', 'info', '--output=json', q.path)) as { format: string; 'virtual-size': number; 'cluster-size': number };
    expect(info).toMatchObject({ format: 'qcow2', 'virtual-size': 256 * MiB, 'cluster-size': RESTORED_QCOW2_CLUSTER_BYTES });
    expect(allocated(q.path)).toBeLessThanOrEqual(EMPTY_QCOW2);
    expect(statSync(r.path).size).toBe(256 * MiB);
    expect(allocated(r.path)).toBeLessThan(MiB);
    await connector.deleteVolume(POOL, 'rs-a.qcow2');
    await connector.deleteVolume(POOL, 'rs-a.raw');
    await connector.deleteVolume(POOL, 'rs-a.raw');
    expect(existsSync(q.path) || existsSync(r.path)).toBe(false);
    expect(volumes()).toEqual([]);
  });

  it('refuses a taken name, too little space and bad input, and leaves the pool as it was', async () => {
    const first = await connector.createVolume(POOL, 'rs-taken', 64 * MiB, 'raw', 0);
    sh('qemu-io', '-f', 'raw', '-c', 'write -q -P 0x33 0 1M', first.path);
    await expect(connector.createVolume(POOL, 'rs-taken', 32 * MiB, 'qcow2', 0)).rejects.toMatchObject({
      code: 'HV_EXISTS',
      message: `storage pool "${POOL}" already has a volume "rs-taken"`,
    });
    expect(bytesAt(first.path, 0, 4).toString('hex')).toBe('33333333');
    const available = (await connector.listPools()).find((p) => p.name === POOL)!.availableBytes;
    const tooMuch = connector.createVolume(POOL, 'rs-big', available * 2, 'raw', available + 2 ** 30);
    await expect(tooMuch).rejects.toMatchObject({
      code: 'HV_NO_SPACE',
      message: expect.stringMatching(new RegExp(`^storage pool "${POOL}" has .* available; volume "rs-big" needs`)),
    });
    // Without the data's size, the whole capacity must fit.
    await expect(connector.createVolume(POOL, 'rs-big', available * 2, 'qcow2')).rejects.toMatchObject({ code: 'HV_NO_SPACE' });
    // Sparse: a capacity far above what is available is fine when the data fits.
    const sparse = await connector.createVolume(POOL, 'rs-sparse', available * 2, 'qcow2', MiB);
    expect(allocated(sparse.path)).toBeLessThanOrEqual(EMPTY_QCOW2);
    await connector.deleteVolume(POOL, 'rs-sparse');
    await expect(connector.createVolume(POOL, '../escape', MiB, 'raw', 0)).rejects.toMatchObject({
      code: 'HV_RESTORE',
    });
    await expect(connector.createVolume(POOL, 'rs-zero', 0, 'raw', 0)).rejects.toMatchObject({
      code: 'HV_RESTORE',
    });
    await expect(connector.createVolume('sblab-rs-no-pool', 'x', MiB, 'raw', 0)).rejects.toMatchObject({
      code: 'HV_RESTORE',
      message: expect.stringContaining('no storage pool "sblab-rs-no-pool"'),
    });
    expect(volumes()).toEqual(['rs-taken']);
    await connector.deleteVolume(POOL, 'rs-taken');
    await connector.deleteVolume('sblab-rs-no-pool', 'rs-taken'); // no pool, no volume: nothing to do
  });
});

describe.skipIf(unavailable)('a writable export of an image', () => {
  it('takes writes over NBD into a sparse image and leaves nothing once closed', async () => {
    const { path } = await connector.createVolume(POOL, 'rs-w.qcow2', 64 * MiB, 'qcow2', 2 * MiB);
    const exported = await connector.openImageExport(path, 'qcow2');
    expect(exported.sizeBytes).toBe(64 * MiB);
    const socket = exported.endpoint.kind === 'unix' ? exported.endpoint.path : '';
    expect(socket.startsWith(`${work}/`)).toBe(true);
    sh('qemu-io', '-f', 'raw', '-c', 'write -q -P 0xab 4M 1M', '-c', 'write -q -z 6M 1M', '-c', 'flush', nbdUri(exported));
    // The export is persistent: a later connection reads what an earlier one wrote.
    sh('qemu-io', '-f', 'raw', '-c', 'read -q -P 0xab 4M 1M', nbdUri(exported));
    await exported.close();
    await exported.close();
    expect(existsSync(socket)).toBe(false);
    expect(processesMentioning(socket)).toEqual([]);
    expect(readdirSync(work)).toEqual([]);
    const back = join(poolDir, 'rs-w-back.raw');
    sh('qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', path, back);
    expect(bytesAt(back, 4 * MiB, MiB).equals(Buffer.alloc(MiB, 0xab))).toBe(true);
    expect(bytesAt(back, 0, 4 * MiB).equals(Buffer.alloc(4 * MiB))).toBe(true);
    rmSync(back);
    // 1 MiB of data and one L2 table: the zeroes at 6M allocated nothing.
    expect(allocated(path)).toBeLessThanOrEqual(EMPTY_QCOW2 + 2 * RESTORED_QCOW2_CLUSTER_BYTES);
    await connector.deleteVolume(POOL, 'rs-w.qcow2');
  });

  it('refuses an image another process holds (QEMU image lock), and a missing bitmap, leaving no job behind', async () => {
    const { path } = await connector.createVolume(POOL, 'rs-l.qcow2', 16 * MiB, 'qcow2', 0);
    const first = await connector.openImageExport(path, 'qcow2');
    try {
      await expect(connector.openImageExport(path, 'qcow2')).rejects.toMatchObject({
        code: 'HV_BUSY',
        message: expect.stringContaining('in use by another process'),
      });
    } finally {
      await first.close();
    }
    await expect(connector.openImageExport(path, 'qcow2', { bitmap: 'strongbox-none' })).rejects.toMatchObject({
      code: 'HV_RESTORE',
      message: `${path} has no bitmap strongbox-none`,
    });
    await expect(connector.openImageExport(join(poolDir, 'nothing.raw'), 'raw')).rejects.toMatchObject({ code: 'HV_RESTORE' });
    expect(readdirSync(work)).toEqual([]);
    await connector.deleteVolume(POOL, 'rs-l.qcow2');
  });

  it('the janitor kills the qemu-nbd of a writer killed with SIGKILL and deletes the volume it was writing', async () => {
    const { path } = await connector.createVolume(POOL, 'rs-dead.raw', 16 * MiB, 'raw', 0);
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures/export-child.ts'), LAB_URI, work, path, POOL, 'rs-dead.raw'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: join(here, '../../..'),
    });
    const socket = (await childSays(child, /EXPORTING (\S+)/)).slice('EXPORTING '.length);
    sh('qemu-io', '-f', 'raw', '-c', 'write -q -P 0x77 0 1M', `nbd+unix:///?socket=${socket}`);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(processesMentioning(socket).length).toBe(1); // qemu-nbd outlives its owner
    const actions = await runJanitor({ workDir: work });
    expect(actions).toHaveLength(1);
    expect(actions[0]!.did.join('; ')).toMatch(/killed qemu-nbd \d+; deleted volume rs-dead\.raw of pool/);
    expect(processesMentioning(socket)).toEqual([]);
    expect(readdirSync(work)).toEqual([]);
    expect(existsSync(path)).toBe(false);
    expect(volumes()).toEqual([]);
  });
});

describe.skipIf(unavailable)('restores around a real guest', () => {
  let vm: LabVm;
  let guest: GuestConsole;
  let checkpoint: string;
  let expected: string;
  let restoredVda: string;
  const REGION = [0, 16 * KiB] as const; // KiB: the first 16 MiB, seeded data and the writes below

  beforeAll(async () => {
    ({ vm, guest } = await labVm({ name: src, disks: [{ sizeMiB: 64 }, { sizeMiB: 32 }] }));
  });
  afterAll(async () => {
    guest?.close();
    for (const name of [inst, nicCopy, copy, src]) await removeLabVm(name);
  });

  it('refuses to export, or read the changes of, a disk of a running VM', async () => {
    await expect(connector.openImageExport(vm.disks[0]!.path, 'qcow2')).rejects.toMatchObject({
      code: 'HV_BUSY',
      message: expect.stringContaining(`disk of running VM ${src}`),
    });
    await expect(connector.dirtyExtentsSince(src, 'vda', 'strongbox-x')).rejects.toMatchObject({
      code: 'HV_BUSY',
      message: expect.stringContaining('running'),
    });
    await expect(connector.replaceDiskSource(src, 'vdb', join(poolDir, 'x.raw'), 'raw')).rejects.toMatchObject({ code: 'HV_BUSY' });
  });

  it('lists what a powered-off VM changed since a checkpoint: the guest’s write, nothing far from it', async () => {
    const view = await connector.openBackup({ vm: src, sinceCheckpoint: null });
    await view.release('success');
    checkpoint = view.checkpoint;
    expect(await connector.checkpointsOf(src)).toEqual([checkpoint]);
    await guest.write('vda', 4096, 1024, 'random');
    await guest.write('vda', 10 * 1024 + 32, 64, 'random'); // across two 64 KiB clusters of the bitmap
    expected = await guest.md5('vda', ...REGION);
    guest.close();
    virsh('destroy', src); // QEMU stores the bitmap in the image as it closes it
    expect(await connector.powerState(src)).toBe('stopped');

    const extents = await connector.dirtyExtentsSince(src, 'vda', checkpoint);
    expect(extents[0]!.offset).toBe(0);
    expect(extents.reduce((s, e) => s + e.length, 0)).toBe(64 * MiB);
    const dirty = extents.filter((e) => e.dirty);
    expect(dirty).toEqual([
      { offset: 4 * MiB, length: MiB, dirty: true },
      { offset: 10 * MiB, length: 128 * KiB, dirty: true },
    ]);
    expect(await connector.dirtyExtentsSince(src, 'vdb', checkpoint)).toEqual([{ offset: 0, length: 32 * MiB, dirty: false }]);
    await expect(connector.dirtyExtentsSince(src, 'vda', 'strongbox-nope')).rejects.toMatchObject({
      code: 'HV_RESTORE',
      message: `${src} has no checkpoint strongbox-nope`,
    });
    await expect(connector.dirtyExtentsSince(src, 'vdz', checkpoint)).rejects.toMatchObject({ code: 'HV_RESTORE' });
    expect(readdirSync(work)).toEqual([]);
  });

  it('defines a restored VM (new name, UUID, own console, only the restored disk) that boots and reads the same data', async () => {
    const { path } = await connector.createVolume(POOL, `${copy}-vda.qcow2`, 64 * MiB, 'qcow2', 16 * MiB);
    restoredVda = path;
    const exported = await connector.openImageExport(path, 'qcow2');
    try {
      // The restore writer lands in another package; qemu-img writes the same way, over the export.
      sh('qemu-img', 'convert', '-n', '-f', 'qcow2', '-O', 'raw', vm.disks[0]!.path, nbdUri(exported));
    } finally {
      await exported.close();
    }
    const original = await connector.getVm(src);
    const { labPaths, GuestConsole } = await import('../../../scripts/lab/index.js');
    const socketDir = join(labPaths().vms, copy);
    const spec = {
      configXml: original.configXml,
      name: copy,
      disks: new Map([['vda', { path, format: 'qcow2' as const }]]),
      networks: 'disconnected' as const,
      keepIdentity: false,
      socketDir,
    };
    expect(await connector.vmExists(copy)).toBe(false);
    const defined = await connector.defineRestoredVm(spec);
    expect(await connector.vmExists(copy)).toBe(true);
    expect(await connector.vmExists(defined.uuid)).toBe(true);
    expect(defined).toMatchObject({ name: copy, power: 'stopped' });
    expect(defined.uuid).not.toBe(original.uuid);
    expect(virsh('domuuid', copy).trim()).toBe(defined.uuid);
    const xml = virsh('dumpxml', '--inactive', copy);
    expect(persistentDisks(copy)).toEqual([path]);
    expect(xml).toContain(join(socketDir, 'console.sock'));
    expect(xml).not.toContain(vm.dir);
    expect(await connector.checkpointsOf(copy)).toEqual([]);

    await expect(connector.defineRestoredVm(spec)).rejects.toMatchObject({
      code: 'HV_EXISTS',
      message: expect.stringContaining(`a VM named ${copy} already exists`),
    });
    await expect(connector.defineRestoredVm({ ...spec, name: `${copy}-x`, keepIdentity: true })).rejects.toMatchObject({
      code: 'HV_EXISTS',
      message: expect.stringContaining(`VM ${src} has UUID ${original.uuid}`),
    });
    await expect(
      connector.defineRestoredVm({ ...spec, name: `${copy}-y`, disks: new Map([['vdq', { path, format: 'qcow2' as const }]]) }),
    ).rejects.toMatchObject({
      code: 'HV_RESTORE',
    });
    expect(tryVirsh('dominfo', `${copy}-x`)).toBeNull();

    // Lab VMs have no network: one with a user-mode NIC shows what libvirt makes of a disconnected restore.
    const withNic = original.configXml.replace(
      '</devices>',
      "<interface type='user'><mac address='52:54:00:5b:00:01'/><model type='virtio'/></interface></devices>",
    );
    await connector.defineRestoredVm({ ...spec, configXml: withNic, name: nicCopy, disks: new Map(), socketDir: join(labPaths().vms, nicCopy) });
    const nicXml = virsh('dumpxml', '--inactive', nicCopy);
    expect(nicXml).toMatch(/<interface type='user'>\s*<mac address='52:54:00:[0-9a-f:]{8}'\/>[\s\S]*<link state='down'\/>/);
    expect(nicXml).not.toContain('52:54:00:5b:00:01');
    expect(persistentDisks(nicCopy)).toEqual([]);
    await connector.undefineVm(nicCopy);

    await connector.startVm(copy);
    await connector.startVm(copy);
    const restored = await GuestConsole.connect(join(socketDir, 'console.sock'));
    try {
      await restored.waitReady();
      expect(await restored.md5('vda', ...REGION)).toBe(expected);
    } finally {
      restored.close();
    }
    expect(await connector.powerState(copy)).toBe('running');
    await expect(connector.undefineVm(copy)).rejects.toMatchObject({ code: 'HV_BUSY' });
    await connector.destroyVm(copy);
    await connector.destroyVm(copy);
    await connector.undefineVm(copy);
    await connector.undefineVm(copy);
    await expect(connector.powerState(copy)).rejects.toMatchObject({ code: 'HV_VM_NOT_FOUND' });
    expect(await connector.vmExists(copy)).toBe(false);
    expect(existsSync(path)).toBe(true); // the VM goes, its volume stays for deleteVolume
  });

  it('attaches a restored disk and replaces one in place; refuses what would share an image', async () => {
    const { path: extra } = await connector.createVolume(POOL, 'rs-extra.raw', 8 * MiB, 'raw', 0);
    expect(await connector.attachDisk(src, { path: extra, format: 'raw' })).toEqual({ target: 'vdc' });
    expect(persistentDisks(src)).toEqual([vm.disks[0]!.path, vm.disks[1]!.path, extra]);
    await expect(connector.attachDisk(src, { path: extra, format: 'raw' })).rejects.toMatchObject({ code: 'HV_EXISTS' });
    await expect(connector.attachDisk(src, { path: restoredVda, format: 'qcow2', target: 'vdb' })).rejects.toMatchObject({
      code: 'HV_EXISTS',
      message: `${src} already has a disk vdb`,
    });
    await expect(connector.deleteVolume(POOL, 'rs-extra.raw')).rejects.toMatchObject({ code: 'HV_BUSY', message: expect.stringContaining(src) });

    await connector.replaceDiskSource(src, 'vdc', restoredVda, 'qcow2');
    expect(persistentDisks(src)).toEqual([vm.disks[0]!.path, vm.disks[1]!.path, restoredVda]);
    expect(virsh('dumpxml', '--inactive', src)).toMatch(
      new RegExp(`<driver name='qemu' type='qcow2'/>\\s*<source file='${restoredVda}'/>\\s*<target dev='vdc' bus='virtio'/>`),
    );
    await expect(connector.replaceDiskSource(src, 'vdq', extra, 'raw')).rejects.toMatchObject({
      code: 'HV_RESTORE',
      message: expect.stringContaining('no disk vdq'),
    });
    // Back as it was, so the guest's disks are the lab's again.
    await connector.replaceDiskSource(src, 'vdc', extra, 'raw');
    virsh('detach-disk', src, 'vdc', '--config');
    await connector.deleteVolume(POOL, 'rs-extra.raw');
  });

  it('drops every checkpoint and our bitmaps after an in-place restore, so the next backup reads whole', async () => {
    expect(imageBitmapNames(vm.disks[0]!.path)).toEqual([checkpoint]);
    expect(await connector.dropAllCheckpoints(src)).toEqual([checkpoint]);
    expect(await connector.checkpointsOf(src)).toEqual([]);
    expect(imageBitmapNames(vm.disks[0]!.path)).toEqual([]);
    expect(imageBitmapNames(vm.disks[1]!.path)).toEqual([]);
    const view = await connector.openBackup({ vm: src, sinceCheckpoint: checkpoint });
    try {
      expect(view.base).toBeNull();
      expect(view.disks.map((d) => d.mode)).toEqual(['allocated', 'allocated']);
    } finally {
      await view.release('failure');
    }
    expect(await connector.checkpointsOf(src)).toEqual([]);
  });

  it('boots a VM from an overlay on an NBD export, then copies it live into a pool and pivots', async () => {
    const dir = join(poolDir, 'instant');
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const point = join(dir, 'point.raw');
    sh('qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', vm.disks[0]!.path, point);
    const socketPath = join(dir, 'point.sock');
    // The other package's read-only NBD server stands in as qemu-nbd; QEMU (libvirt-qemu) connects to it.
    const server = spawn('qemu-nbd', ['--read-only', '--persistent', '--shared=8', '-f', 'raw', '-k', socketPath, point], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 200 && !existsSync(socketPath); i++) await new Promise((r) => setTimeout(r, 25));
      chmodSync(socketPath, 0o777);
      const overlay = await connector.createNbdOverlay(dir, 'sblab-rs-overlay.qcow2', { socketPath, exportName: '', sizeBytes: 64 * MiB });
      const info = JSON.parse(sh('qemu-img', 'info', '--output=json', overlay)) as { 'backing-filename': string; 'backing-filename-format': string };
      expect(info['backing-filename-format']).toBe('raw');
      expect(JSON.parse(info['backing-filename'].replace(/^json:/, ''))).toEqual({
        file: { driver: 'nbd', server: { type: 'unix', path: socketPath }, export: '', 'reconnect-delay': 10 },
      });
      await expect(connector.createNbdOverlay(dir, 'sblab-rs-overlay.qcow2', { socketPath, exportName: '', sizeBytes: 64 * MiB })).rejects.toMatchObject({
        code: 'HV_EXISTS',
      });

      const { labPaths, GuestConsole } = await import('../../../scripts/lab/index.js');
      const socketDir = join(labPaths().vms, inst);
      const original = await connector.getVm(src);
      await connector.defineRestoredVm({
        configXml: original.configXml,
        name: inst,
        disks: new Map([['vda', { path: overlay, format: 'qcow2' }]]),
        networks: 'disconnected',
        keepIdentity: false,
        socketDir,
      });
      await connector.startVm(inst);
      const recovered = await GuestConsole.connect(join(socketDir, 'console.sock'));
      try {
        await recovered.waitReady();
        expect(await recovered.md5('vda', ...REGION)).toBe(expected);
        // libvirt's view of the chain: the overlay on the NBD export (libvirt 9.0 drops the header's reconnect-delay).
        expect(virsh('dumpxml', inst)).toMatch(new RegExp(`<source protocol='nbd' name=''[^>]*>\\s*<host transport='unix' socket='${socketPath}'/>`));
        await recovered.write('vda', 8192, 512, 'random'); // into the overlay
        const now = await recovered.md5('vda', ...REGION);
        expect(now).not.toBe(expected);
        await expect(connector.blockCopyToPool(inst, 'vda', join(dir, 'missing.qcow2'), 'qcow2')).rejects.toMatchObject({ code: 'HV_RESTORE' });

        const volume = `${inst}-vda.qcow2`;
        let { path: final } = await connector.createVolume(POOL, volume, 64 * MiB, 'qcow2');
        // A mover killed mid-copy: its virsh blockcopy lives on, libvirt's job too, until the janitor settles them.
        const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures/blockcopy-child.ts'), LAB_URI, work, inst, 'vda', final], {
          stdio: ['ignore', 'pipe', 'pipe'],
          cwd: join(here, '../../..'),
        });
        expect(await childSays(child, /COPYING (\d+)\/(\d+)/)).toMatch(/^COPYING \d+\/67108864$/);
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
        expect(parseRaw(virsh('blockjob', inst, 'vda', '--info', '--raw'))).toMatchObject({ type: 'Block Copy', end: String(64 * MiB) });
        const actions = await runJanitor({ workDir: work });
        expect(actions.map((a) => a.did)).toEqual([
          [expect.stringMatching(/^stopped virsh blockcopy \d+$/), expect.stringMatching(/^aborted the copy of disk vda/), 'removed scratch files'],
        ]);
        expect(virsh('blockjob', inst, 'vda', '--info', '--raw').trim()).toBe('');
        expect(persistentDisks(inst)).toEqual([overlay]);
        expect(virsh('dumpxml', inst)).toContain(`<source file='${overlay}'`);
        // The aborted copy wrote part of the image: a copy onto it would keep stale blocks where the source has none.
        await expect(connector.blockCopyToPool(inst, 'vda', final, 'qcow2')).rejects.toMatchObject({
          code: 'HV_RESTORE',
          message: expect.stringContaining('is not empty'),
        });
        await connector.deleteVolume(POOL, volume);
        ({ path: final } = await connector.createVolume(POOL, volume, 64 * MiB, 'qcow2'));

        const progress: { copiedBytes: number; totalBytes: number }[] = [];
        await connector.blockCopyToPool(inst, 'vda', final, 'qcow2', { bandwidthMiBps: 4, onProgress: (p) => progress.push(p) });
        expect(progress.at(-1)).toEqual({ copiedBytes: 64 * MiB, totalBytes: 64 * MiB });
        expect(progress.some((p) => p.copiedBytes < p.totalBytes)).toBe(true);
        expect(progress.every((p, i) => i === 0 || p.copiedBytes >= progress[i - 1]!.copiedBytes)).toBe(true);
        expect(readdirSync(work)).toEqual([]);
        expect(virsh('dumpxml', inst)).toContain(`<source file='${final}'`);
        expect(virsh('dumpxml', inst)).not.toContain('nbd');
        expect(persistentDisks(inst)).toEqual([final]);
        // Nothing holds the overlay or its export any more: the NBD server may go.
        sh('qemu-img', 'info', overlay); // without -U: fails while QEMU holds the image's lock
        server.kill('SIGTERM');
        await new Promise((r) => server.once('exit', r));
        recovered.close();
        // A restart boots from the persistent definition: the pool image, with the guest's write.
        await connector.destroyVm(inst);
        await connector.startVm(inst);
        const rebooted = await GuestConsole.connect(join(socketDir, 'console.sock'));
        try {
          await rebooted.waitReady();
          expect(await rebooted.md5('vda', ...REGION)).toBe(now);
        } finally {
          rebooted.close();
        }
        // A copier that died with the VM shut off since: nothing of the copy is left to settle, and the janitor says so.
        await connector.destroyVm(inst);
        const orphan = await JobDir.createBlockCopy(work, { uri: LAB_URI, domain: inst, target: 'vda', dest: final, format: 'qcow2' });
        await orphan.disown();
        expect((await runJanitor({ workDir: work })).map((a) => a.did)).toEqual([['the VM is shut off: no copy of disk vda is left', 'removed scratch files']]);
        expect(persistentDisks(inst)).toEqual([final]);
      } finally {
        recovered.close();
      }
    } finally {
      server.kill('SIGKILL');
    }
  });
});
