import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';

export const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });

export async function md5OfStream(stream: NodeJS.ReadableStream): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const md5OfFile = (path: string) => md5OfStream(createReadStream(path));

/**
 * Pids of the live processes in a process group (none when it is gone). Zombies do not
 * count: this machine's init reaps orphans late.
 */
export function groupPids(pgid: number): number[] {
  let pids: number[];
  try {
    pids = sh('pgrep', ['-g', String(pgid)])
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
  return pids.filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false; // gone since pgrep
    }
  });
}

/** `qemu-nbd -t -r` serving one raw image read-only on a unix socket, as libguestfs needs (it connects twice). */
export async function serveNbd(image: string, socket: string, exportName: string): Promise<ChildProcess> {
  const child = spawn('qemu-nbd', ['-t', '-r', '-f', 'raw', '-k', socket, '-x', exportName, image], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (Date.now() > deadline) throw new Error(`qemu-nbd did not create ${socket}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

/** Pids of processes whose command line holds `text`. */
export function pgrepFull(text: string): number[] {
  try {
    return sh('pgrep', ['-f', '--', text]).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}
