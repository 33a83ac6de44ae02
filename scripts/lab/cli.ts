/**
 * pnpm lab:up [N]     installs and starts the lab and N VMs (default 2)
 * pnpm lab:down       removes every sblab- VM
 * tsx scripts/lab/cli.ts write <vm> <dev> <offKiB> <lenKiB> [pattern]   makes a guest write
 */
import { join } from 'node:path';
import { GuestConsole, labDown, labPaths, labUp } from './index.js';

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
    const c = await GuestConsole.connect(join(labPaths().vms, vm, 'console.sock'));
    await c.waitReady(10_000);
    await c.write(dev, Number(off), Number(len), pattern ?? 'random');
    c.close();
    console.log(`${vm}: wrote ${len} KiB at ${off} KiB of ${dev}`);
    return;
  }
  throw new Error('usage: cli.ts up [N] | down | write <vm> <dev> <offKiB> <lenKiB> [pattern]');
}

main().catch((e: unknown) => {
  console.error(`lab: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
