/**
 * pnpm lab:up [N]     installs and starts the lab and N VMs (default 2)
 * pnpm lab:down       removes every sblab- VM
 * tsx scripts/lab/cli.ts write <vm> <dev> <offKiB> <lenKiB> [pattern]   makes a guest write
 * tsx scripts/lab/cli.ts md5 <vm> <dev> <offKiB> <lenKiB>                 what the guest reads there
 * tsx scripts/lab/cli.ts vm <name> <diskMiB>...                          defines and starts one VM
 * tsx scripts/lab/cli.ts rm <name>...                                    removes VMs and their disks
 * tsx scripts/lab/cli.ts fsvm <name>                                     a VM with ext4 (partitioned, seeded) on vda and XFS on LVM on vdb, with qemu-ga
 * tsx scripts/lab/cli.ts fw <vm> <dev> <path> <sizeKiB> [pattern]         the guest writes a file on /mnt/<dev>1
 * tsx scripts/lab/cli.ts fm <vm> <dev> <path>                            md5 of a file as the guest reads it
 * tsx scripts/lab/cli.ts fd <vm> <dev> <path>                            the guest deletes a file
 */
import { messageOf } from '@strongbox/core';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineLabVm, destroyLabVm, ensureLab, GuestConsole, labDown, labPaths, labUp, startLabVm, virsh } from './index.js';

/**
 * The guest's serial console socket: a lab VM's own, or where the domain's XML puts it (a
 * VM restored from a lab VM has its sockets in a folder of its own).
 */
async function consoleSocket(vm: string): Promise<string> {
  const own = join(labPaths().vms, vm, 'console.sock');
  if (existsSync(own)) return own;
  const { stdout } = await virsh('dumpxml', vm);
  const found = /<serial type='unix'>\s*<source mode='bind' path='([^']+)'/.exec(stdout);
  if (!found?.[1]) throw new Error(`${vm} has no serial console socket`);
  return found[1];
}

async function guest(vm: string): Promise<GuestConsole> {
  const c = await GuestConsole.connect(await consoleSocket(vm));
  await c.waitReady(10_000);
  return c;
}

/** What `fsvm` seeds on its ext4 partition. */
const FS_VM_FILES: Record<string, string> = {
  'etc/app.conf': 'listen 8080\nworkers 4\n',
  'home/ann/report.txt': 'quarterly report\n'.repeat(4000),
  'home/ann/old.txt': 'an old note to delete\n'.repeat(100),
  'home/ann/notes/todo.md': '- back up\n- restore\n',
  'home/ann/notes/ideas.md': '- index the files\n',
};

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'up') {
    const vms = await labUp(args[0] ? Number(args[0]) : 2);
    for (const vm of vms) console.log(`${vm.name}: ${vm.disks.map((d) => `${d.target}=${d.path}`).join(' ')} console=${vm.consoleSocket}`);
    return;
  }
  if (command === 'down') {
    const removed = await labDown();
    console.log(removed.length ? `removed ${removed.join(' ')}` : 'no lab VMs');
    return;
  }
  if (command === 'write') {
    const [vm, dev, off, len, pattern] = args;
    if (!vm || !dev || !off || !len) throw new Error('usage: write <vm> <dev> <offKiB> <lenKiB> [pattern]');
    const c = await guest(vm);
    await c.write(dev, Number(off), Number(len), pattern ?? 'random');
    c.close();
    console.log(`${vm}: wrote ${len} KiB at ${off} KiB of ${dev}`);
    return;
  }
  if (command === 'md5') {
    const [vm, dev, off, len] = args;
    if (!vm || !dev || !off || !len) throw new Error('usage: md5 <vm> <dev> <offKiB> <lenKiB>');
    const c = await guest(vm);
    console.log(await c.md5(dev, Number(off), Number(len)));
    c.close();
    return;
  }
  if (command === 'vm') {
    const [name, ...sizes] = args;
    if (!name || sizes.length === 0) throw new Error('usage: vm <name> <diskMiB>...');
    const vm = await defineLabVm(await ensureLab(), { name, disks: sizes.map((s) => ({ sizeMiB: Number(s) })) });
    (await startLabVm(vm)).close();
    console.log(`${vm.name}: ${vm.disks.map((d) => d.target).join(' ')} started`);
    return;
  }
  if (command === 'fsvm') {
    const [name] = args;
    if (!name) throw new Error('usage: fsvm <name>');
    const vm = await defineLabVm(await ensureLab(), {
      name,
      agent: true,
      disks: [
        { sizeMiB: 64, fs: 'ext4-partitioned', files: FS_VM_FILES },
        { sizeMiB: 320, fs: 'xfs-lvm', files: { 'data/ledger.csv': 'id,amount\n1,100\n2,250\n' } },
      ],
    });
    (await startLabVm(vm)).close();
    console.log(`${vm.name}: ext4 on vda1, XFS on LVM on vdb, started`);
    return;
  }
  if (command === 'fw' || command === 'fm' || command === 'fd') {
    const [vm, dev, path, size, pattern] = args;
    if (!vm || !dev || !path || (command === 'fw' && !size))
      throw new Error(`usage: ${command} <vm> <dev> <path>${command === 'fw' ? ' <sizeKiB> [pattern]' : ''}`);
    const c = await guest(vm);
    try {
      if (command === 'fw') await c.writeFile(dev, path, Number(size), pattern ?? 'random');
      else if (command === 'fd') await c.deleteFile(dev, path);
      else console.log(await c.md5File(dev, path));
    } finally {
      c.close();
    }
    return;
  }
  if (command === 'rm') {
    const paths = await ensureLab();
    for (const name of args) await destroyLabVm(paths, name);
    console.log(`removed ${args.join(' ')}`);
    return;
  }
  throw new Error(
    'usage: cli.ts rm <name>... | up [N] | down | fsvm <name> | fw|fm|fd <vm> <dev> <path> … | write <vm> <dev> <offKiB> <lenKiB> [pattern] | md5 <vm> <dev> <offKiB> <lenKiB> | vm <name> <diskMiB>...',
  );
}

main().catch((e: unknown) => {
  console.error(`lab: ${messageOf(e)}`);
  process.exit(1);
});
