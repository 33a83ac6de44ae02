import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';

export type QemuNbd = {
  child: ChildProcess;
  stop: () => Promise<void>;
  /** What qemu-nbd wrote to stderr so far (its trace events too, with `--trace`). */
  stderr: () => string;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function answers(probe: () => ReturnType<typeof createConnection>): Promise<boolean> {
  return new Promise((resolve) => {
    const s = probe();
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts a real qemu-nbd (persistent, so probes and several clients do not stop it) and waits until it listens.
 * `shared` is how many clients it takes at once (default 8); a writable qemu-nbd announces multi-conn only when above 1.
 */
export async function startQemuNbd(args: string[], listen: { socket: string } | { port: number }, options: { shared?: number } = {}): Promise<QemuNbd> {
  const where = 'socket' in listen ? ['-k', listen.socket] : ['-b', '127.0.0.1', '-p', String(listen.port)];
  const child = spawn('qemu-nbd', ['-t', `--shared=${options.shared ?? 8}`, ...where, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`qemu-nbd exited: ${stderr}`);
    const up =
      'socket' in listen
        ? existsSync(listen.socket) && (await answers(() => createConnection(listen.socket)))
        : await answers(() => createConnection({ host: '127.0.0.1', port: listen.port }));
    if (up) {
      return {
        child,
        stderr: () => stderr,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      };
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`qemu-nbd did not listen: ${stderr}`);
}
