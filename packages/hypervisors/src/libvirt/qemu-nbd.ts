import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { processStart } from '@strongbox/config';
import { HypervisorError } from '../errors.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a job records of its qemu-nbd processes, so the janitor can tell them from recycled pids. */
export const recordOf = (servers: ChildProcess[]) => servers.map((s) => ({ pid: s.pid!, pidStart: processStart(s.pid!) ?? 0 }));

/** Whether the server at `socket` sends NBD's greeting (it then has the image open). */
function greets(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(socket);
    let got = Buffer.alloc(0);
    const done = (ok: boolean) => {
      c.destroy();
      resolve(ok);
    };
    c.on('data', (b: Buffer) => {
      got = Buffer.concat([got, b]);
      if (got.length >= 8) done(got.subarray(0, 8).toString('latin1') === 'NBDMAGIC');
    });
    c.on('error', () => done(false));
    c.on('close', () => done(false));
  });
}

/**
 * Starts qemu-nbd (with `--persistent`: the readiness probe is a client) serving on a unix
 * socket and waits until it greets a client. The socket alone is no sign: qemu-nbd binds it
 * before it opens the image, and exits after when it cannot (a lock another process holds,
 * a missing bitmap): that exit, with its stderr, is the error.
 */
export async function startQemuNbd(args: string[], socket: string): Promise<ChildProcess> {
  const child = spawn('qemu-nbd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (e) => reject(new HypervisorError('HV_EXPORT', `cannot run qemu-nbd (is qemu-utils installed?): ${e.message}`)));
    child.once('exit', (code) => reject(new HypervisorError('HV_EXPORT', `qemu-nbd exited (${code}): ${stderr.trim()}`)));
  });
  failed.catch(() => undefined); // observed below through Promise.race; exits after start are handled by the NBD client
  const ready = (async () => {
    for (let i = 0; i < 400 && child.exitCode === null; i++) {
      if (existsSync(socket) && (await greets(socket))) return;
      await sleep(25);
    }
    throw new HypervisorError('HV_EXPORT', `qemu-nbd did not serve on ${socket} within 10 s: ${stderr.trim()}`);
  })();
  try {
    await Promise.race([ready, failed]);
  } catch (e) {
    await stopQemuNbd(child);
    throw e;
  }
  return child;
}

/** SIGTERM (qemu-nbd then flushes and closes the image), SIGKILL after 5 s. */
export async function stopQemuNbd(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5_000)]);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await Promise.race([exited, sleep(2_000)]);
  }
}
