import { createConnection, type Socket } from 'node:net';
import { LabError } from './run.js';

/** The guest's shell reads words: a path with blanks or `..` is refused here. */
function guestRelPath(path: string): string {
  const rel = path.replace(/^\/+/, '');
  if (!/^[A-Za-z0-9_./-]+$/.test(rel) || rel.split('/').some((s) => s === '' || s === '..')) {
    throw new LabError('LAB_GUEST', `guest file paths are plain relative paths without blanks: ${path}`);
  }
  return rel;
}

function guestDev(dev: string): string {
  if (!/^vd[a-z]$/.test(dev)) throw new LabError('LAB_GUEST', `a guest disk is vda, vdb, …: ${dev}`);
  return dev;
}

type Pending = { resolve: (value: string) => void; reject: (error: Error) => void; timer: NodeJS.Timeout };

/**
 * Drives a lab guest through its serial console (a unix socket QEMU listens on), so that
 * writes come from the guest through virtio and dirty QEMU's real bitmaps.
 */
export class GuestConsole {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => this.failAll(new LabError('LAB_CONSOLE', 'guest console closed')));
    socket.on('error', (e) => this.failAll(new LabError('LAB_CONSOLE', `guest console: ${e.message}`)));
  }

  static async connect(path: string): Promise<GuestConsole> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection(path);
      s.once('connect', () => resolve(s));
      s.once('error', (e) => reject(new LabError('LAB_CONSOLE', `cannot open guest console ${path}: ${e.message}`)));
    });
    return new GuestConsole(socket);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      const m = /SBLAB (\d+) (OK|ERR) ?(.*)$/.exec(line);
      if (!m) continue;
      const p = this.pending.get(Number(m[1]));
      if (!p) continue;
      this.pending.delete(Number(m[1]));
      clearTimeout(p.timer);
      if (m[2] === 'OK') p.resolve(m[3] ?? '');
      else p.reject(new LabError('LAB_GUEST', `guest command failed: ${m[3]}`));
    }
    if (this.buffer.length > 65536) this.buffer = this.buffer.slice(-4096);
  }

  private failAll(error: Error): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.pending.clear();
  }

  /** Waits until the guest answers a ping (a guest may have booted before we connected). */
  async waitReady(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const answered = await this.command('p', 3_000).then(
        () => true,
        (e: Error) => {
          if (e instanceof LabError && e.code === 'LAB_GUEST_TIMEOUT') return false;
          throw e;
        },
      );
      if (answered) return;
    }
    throw new LabError('LAB_GUEST_TIMEOUT', `guest did not come up within ${timeoutMs / 1000} s`);
  }

  command(line: string, timeoutMs = 60_000): Promise<string> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LabError('LAB_GUEST_TIMEOUT', `guest did not answer "${line}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(`${id} ${line}\n`);
    });
  }

  /** Guest writes `lengthKiB` KiB at `offsetKiB` of /dev/<dev>: random data, zeros, or a repeated token line. */
  async write(dev: string, offsetKiB: number, lengthKiB: number, pattern: 'random' | 'zero' | string = 'random'): Promise<void> {
    if (!/^[A-Za-z0-9_.-]+$/.test(pattern)) throw new LabError('LAB_GUEST', `pattern must be a plain token: ${pattern}`);
    await this.command(`w ${dev} ${offsetKiB} ${lengthKiB} ${pattern}`, 120_000);
  }

  /** md5 of a range as the guest reads it. */
  async md5(dev: string, offsetKiB: number, lengthKiB: number): Promise<string> {
    return this.command(`h ${dev} ${offsetKiB} ${lengthKiB}`, 120_000);
  }

  /**
   * Guest writes a file of `sizeKiB` KiB (random data or a repeated token line) at `relPath`
   * of the ext4 partition mounted at /mnt/<dev>1, then syncs.
   */
  async writeFile(dev: string, relPath: string, sizeKiB: number, pattern: 'random' | string = 'random'): Promise<void> {
    if (!/^[A-Za-z0-9_.-]+$/.test(pattern)) throw new LabError('LAB_GUEST', `pattern must be a plain token: ${pattern}`);
    if (!Number.isInteger(sizeKiB) || sizeKiB < 0) throw new LabError('LAB_GUEST', `sizeKiB must be a whole number: ${sizeKiB}`);
    await this.command(`fw ${guestDev(dev)} ${guestRelPath(relPath)} ${sizeKiB} ${pattern}`, 120_000);
  }

  /** md5 of a file on /mnt/<dev>1 as the guest reads it. */
  async md5File(dev: string, relPath: string): Promise<string> {
    return this.command(`fm ${guestDev(dev)} ${guestRelPath(relPath)}`, 120_000);
  }

  /** Guest deletes a file on /mnt/<dev>1, then syncs. */
  async deleteFile(dev: string, relPath: string): Promise<void> {
    await this.command(`fd ${guestDev(dev)} ${guestRelPath(relPath)}`, 60_000);
  }

  close(): void {
    this.socket.destroy();
  }
}
