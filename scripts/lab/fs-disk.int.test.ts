import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineLabVm, destroyLabVm, ensureLab, labUnavailableReason, startLabVm, virsh, type GuestConsole, type LabPaths, type LabVm } from './index.js';
import { run } from './run.js';

const unavailable = labUnavailableReason();
if (unavailable) console.warn(`SKIPPING lab file-system disk tests: ${unavailable}`);

const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');

async function agent(vm: string, command: object): Promise<unknown> {
  const { stdout } = await virsh('qemu-agent-command', vm, JSON.stringify(command));
  return (JSON.parse(stdout) as { return: unknown }).return;
}

describe.skipIf(unavailable !== null)('lab disks with real file systems', () => {
  const name = `sblab-fsdisk-${randomBytes(3).toString('hex')}`;
  let paths: LabPaths;
  let vm: LabVm;
  let guest: GuestConsole;

  beforeAll(async () => {
    paths = await ensureLab();
    vm = await defineLabVm(paths, {
      name,
      agent: true,
      disks: [
        { sizeMiB: 64 },
        { sizeMiB: 64, fs: 'ext4-partitioned', files: { 'docs/report.txt': 'quarterly\n', 'config.ini': 'a=1\n' } },
        { sizeMiB: 512, fs: 'xfs-lvm', files: { 'data/x.txt': 'x\n' } },
      ],
    });
    guest = await startLabVm(vm);
  }, 600_000);

  afterAll(async () => {
    guest?.close();
    await destroyLabVm(paths, name);
  });

  it('partitions the ext4 disk on the host; the guest mounts it and reads the seeded files', async () => {
    const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', vm.disks[1]!.path]);
    expect(JSON.parse(stdout)).toMatchObject({ format: 'qcow2', 'virtual-size': 64 * 1024 * 1024 });
    expect(vm.disks.map((d) => d.fs)).toEqual([undefined, 'ext4-partitioned', 'xfs-lvm']);
    expect(await guest.md5File('vdb', 'docs/report.txt')).toBe(md5('quarterly\n'));
  });

  it('changes, reads and deletes files from inside the guest', async () => {
    await guest.writeFile('vdb', 'docs/report.txt', 3, 'changed');
    expect(await guest.md5File('vdb', 'docs/report.txt')).toBe(md5('changed\n'.repeat(1024 * 3).slice(0, 3 * 1024)));
    await guest.writeFile('vdb', 'new/dir/blob.bin', 64, 'random');
    expect(await guest.md5File('vdb', 'new/dir/blob.bin')).toMatch(/^[0-9a-f]{32}$/);
    await guest.deleteFile('vdb', 'config.ini');
    await expect(guest.md5File('vdb', 'config.ini')).rejects.toThrow(/no file/);
    await expect(guest.writeFile('vdb', '../escape', 1)).rejects.toThrow(/plain relative/);
  });

  it('lets qemu-guest-agent write a file into the mounted partition (how files are restored into a VM)', async () => {
    const content = Buffer.from('restored by the agent\n');
    const handle = await agent(name, { execute: 'guest-file-open', arguments: { path: '/mnt/vdb1/docs/restored.txt', mode: 'w' } });
    expect(typeof handle).toBe('number');
    await agent(name, { execute: 'guest-file-write', arguments: { handle, 'buf-b64': content.toString('base64') } });
    await agent(name, { execute: 'guest-file-flush', arguments: { handle } });
    await agent(name, { execute: 'guest-file-close', arguments: { handle } });
    expect(await guest.md5File('vdb', 'docs/restored.txt')).toBe(md5(content));
  });
});
