import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@strongbox/config';
import { createPrismaClient, Inventory } from '@strongbox/db';
import { defineLabVm, destroyLabVm, ensureLab, type LabPaths } from '../../../scripts/lab/index.js';
import { rescanConnection } from '../src/controller/rescan.js';

const env = parseEnv(process.env);
const db = createPrismaClient(env.DATABASE_URL);
const name = `sblab-rescan-${randomBytes(3).toString('hex')}`;
let paths: LabPaths;

beforeAll(async () => {
  paths = await ensureLab();
  await defineLabVm(paths, { name, disks: [{ sizeMiB: 16 }, { sizeMiB: 8, format: 'raw' }] });
});
afterAll(async () => {
  await destroyLabVm(paths, name).catch(() => undefined); // already removed by the last test
  await db.$disconnect();
});

describe('rescanConnection', () => {
  it('reads hosts, VMs and disks of the local libvirt into the inventory, and marks a VM gone when it is', async () => {
    const connection = await new Inventory(db).createConnection({ name: `local-${name}`, uri: 'qemu:///system' });
    const result = await rescanConnection(db, connection.id);
    expect(result.vms).toBeGreaterThan(0);

    const vm = await db.vm.findFirstOrThrow({ where: { connectionId: connection.id, name }, include: { disks: { orderBy: { name: 'asc' } }, host: true } });
    expect(vm.removed).toBe(false);
    expect(vm.powerState).toBe('stopped');
    expect(vm.host?.name).toBeTruthy();
    expect(vm.configXml).toContain(`<name>${name}</name>`);
    expect(vm.disks.map((d) => [d.name, d.format, Number(d.sizeBytes)])).toEqual([
      ['vda', 'qcow2', 16 * 1024 * 1024],
      ['vdb', 'raw', 8 * 1024 * 1024],
    ]);
    const after = await db.hypervisorConnection.findUniqueOrThrow({ where: { id: connection.id } });
    expect(after.lastRescanAt).not.toBeNull();
    expect(after.lastError).toBeNull();
    // The host's storage pools, where restores may write: the lab's, with its folder and free space.
    const pools = await db.storagePool.findMany({ where: { connectionId: connection.id } });
    expect(pools.find((p) => p.name === 'sblab-pool')).toMatchObject({ type: 'dir', active: true, availableBytes: expect.any(BigInt) });

    await destroyLabVm(paths, name);
    await rescanConnection(db, connection.id);
    const gone = await db.vm.findUniqueOrThrow({ where: { id: vm.id } });
    expect(gone.removed).toBe(true);
  });

  it("reads the other VMs when one cannot be read (its disk file gone), and records that VM's problem", async () => {
    const broken = `${name}-broken`;
    const good = `${name}-good`;
    const vm = await defineLabVm(paths, { name: broken, disks: [{ sizeMiB: 8 }] });
    await defineLabVm(paths, { name: good, disks: [{ sizeMiB: 8 }] });
    try {
      const connection = await new Inventory(db).createConnection({ name: `partial-${name}`, uri: 'qemu:///system' });
      await rescanConnection(db, connection.id);
      const before = await db.vm.findFirstOrThrow({ where: { connectionId: connection.id, name: broken }, include: { disks: true } });
      expect(before.problem).toBeNull();
      rmSync(vm.disks[0]!.path);
      await rescanConnection(db, connection.id);
      const after = await db.vm.findFirstOrThrow({ where: { connectionId: connection.id, name: broken }, include: { disks: true } });
      expect(after.problem).toMatch(/vda\.qcow2/);
      expect(after.removed).toBe(false);
      // What was last read of it stays.
      expect(after.disks.map((d) => [d.name, Number(d.sizeBytes)])).toEqual([['vda', 8 * 1024 * 1024]]);
      expect(after.configXml).toBe(before.configXml);
      const other = await db.vm.findFirstOrThrow({ where: { connectionId: connection.id, name: good } });
      expect(other.problem).toBeNull();
      expect((await db.hypervisorConnection.findUniqueOrThrow({ where: { id: connection.id } })).lastError).toBeNull();
    } finally {
      await destroyLabVm(paths, broken);
      await destroyLabVm(paths, good);
    }
  });

  it('records why an unreachable hypervisor could not be read, and changes nothing else', async () => {
    const connection = await new Inventory(db).createConnection({ name: `bad-${name}`, uri: 'qemu+tcp://127.0.0.1:1/system' });
    await expect(rescanConnection(db, connection.id)).rejects.toThrow();
    const after = await db.hypervisorConnection.findUniqueOrThrow({ where: { id: connection.id } });
    expect(after.lastError).toBeTruthy();
    expect(await db.vm.count({ where: { connectionId: connection.id } })).toBe(0);
  });
});
