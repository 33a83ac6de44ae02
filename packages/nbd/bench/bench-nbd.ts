/**
 * pnpm bench:nbd — reads a 4 GiB qcow2 (all data, no holes) exported by qemu-nbd, once
 * with `nbdcopy … null:` and once with our client, and prints both rates and the ratio.
 * Not a test: it asserts nothing. Options: --size-gib N, --connections N, --request-mib N,
 * --depth N (requests in flight in total), --alloc (a new buffer per read).
 */
import { messageOf } from '@strongbox/core';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NbdDiskReader } from '../src/index.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const sizeGiB = arg('size-gib', 4);
const connections = arg('connections', 4);
const requestMiB = arg('request-mib', 1);
const depth = arg('depth', 16);
/** `--alloc`: use `read()` (a new buffer per read, as the DiskReader interface does) instead of recycled buffers. */
const alloc = process.argv.includes('--alloc');

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = join(root, '.data/bench');
const image = join(dir, `nbd-${sizeGiB}g.qcow2`);
const sock = join(dir, `strongbox-bench-${process.pid}.sock`);
const GiB = 1024 ** 3;

function makeImage(): void {
  if (existsSync(image)) return;
  mkdirSync(dir, { recursive: true });
  console.log(`creating ${image} (${sizeGiB} GiB of data)…`);
  const tmp = `${image}.tmp`;
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', tmp, `${sizeGiB}G`]);
  // One pattern byte per 256 MiB: every cluster is allocated data, none reads as zeros.
  const cmds: string[] = [];
  for (let i = 0; i < sizeGiB * 4; i++) cmds.push('-c', `write -q -P ${(i * 37 + 1) % 255 || 7} ${i * 256}M 256M`);
  execFileSync('qemu-io', ['-f', 'qcow2', ...cmds, tmp]);
  execFileSync('mv', [tmp, image]);
}

async function startServer(): Promise<() => void> {
  rmSync(sock, { force: true });
  const child = spawn('qemu-nbd', ['-r', '-t', '--shared=16', '-f', 'qcow2', '-k', sock, image], { stdio: 'inherit' });
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(sock)) throw new Error('qemu-nbd did not start');
  return () => {
    child.kill('SIGTERM');
    rmSync(sock, { force: true });
  };
}

function timeNbdcopy(): number {
  const t = process.hrtime.bigint();
  execFileSync('nbdcopy', [`nbd+unix:///?socket=${sock}`, 'null:']);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function timeOurs(): Promise<{ seconds: number; bytes: number }> {
  const t = process.hrtime.bigint();
  const reader = await NbdDiskReader.open({
    endpoint: { kind: 'unix', path: sock },
    exportName: '',
    mode: 'allocated',
    connections,
    maxRequestBytes: arg('server-request-kib', 256) * 1024,
  });
  const step = requestMiB * 1024 * 1024;
  let bytes = 0;
  const inFlight = new Set<Promise<void>>();
  // Recycled buffers, as nbdcopy's: one per request in flight.
  const free = Array.from({ length: depth }, () => Buffer.allocUnsafe(step));
  for await (const e of reader.extents()) {
    if (e.zero) continue;
    for (let at = e.offset; at < e.offset + e.length; at += step) {
      const n = Math.min(step, e.offset + e.length - at);
      const buffer = free.pop()!;
      const read = alloc ? reader.read(at, n) : reader.readInto(at, buffer.subarray(0, n));
      const p: Promise<void> = read.then((b) => {
        bytes += b.length;
        free.push(buffer);
        inFlight.delete(p);
      });
      inFlight.add(p);
      if (inFlight.size >= depth) await Promise.race(inFlight);
    }
  }
  await Promise.all(inFlight);
  await reader.close();
  return { seconds: Number(process.hrtime.bigint() - t) / 1e9, bytes };
}

async function main(): Promise<void> {
  makeImage();
  const stop = await startServer();
  try {
    timeNbdcopy(); // warms the page cache so neither side pays for the disk
    const copy: number[] = [];
    const ours: number[] = [];
    for (let round = 0; round < 3; round++) {
      copy.push(timeNbdcopy());
      const r = await timeOurs();
      if (r.bytes !== sizeGiB * GiB) throw new Error(`our client read ${r.bytes} bytes, expected ${sizeGiB * GiB}`);
      ours.push(r.seconds);
    }
    const best = (xs: number[]) => Math.min(...xs);
    const rate = (s: number) => (sizeGiB / s).toFixed(2);
    console.log(`export: ${sizeGiB} GiB qcow2 over qemu-nbd (unix socket), best of 3`);
    console.log(`nbdcopy → null:            ${best(copy).toFixed(2)} s  ${rate(best(copy))} GiB/s`);
    console.log(
      `@strongbox/nbd (${connections} conn, ${depth} × ${requestMiB} MiB reads in flight${alloc ? ', new buffer per read' : ', recycled buffers'}): ${best(ours).toFixed(2)} s  ${rate(best(ours))} GiB/s`,
    );
    console.log(`ratio (ours / nbdcopy speed): ${((100 * best(copy)) / best(ours)).toFixed(0)}%`);
  } finally {
    stop();
  }
}

main().catch((e: unknown) => {
  console.error(`bench:nbd: ${messageOf(e)}`);
  process.exit(1);
});
