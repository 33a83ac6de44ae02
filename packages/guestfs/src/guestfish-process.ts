import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { codeOfMessage, GuestfsError } from './errors.js';
import { fishArg } from './fish-syntax.js';

type Command = { line: number; resolve: (output: string) => void; reject: (error: Error) => void };

/** How much of a dead guestfish's last output an error quotes. */
const TAIL = 2000;
/** guestfish reads a script line into a buffer of 8 KiB and cuts what is longer. */
export const MAX_LINE_BYTES = 8000;

/**
 * One long-lived `guestfish` reading commands on stdin, its stderr joined to its stdout
 * (`2>&1`) so that an error prints in order with the output. After each command we send
 * `echo <nonce>-<n>`: the output up to that line is the command's, and libguestfs's error
 * line for it starts `*stdin*:<its line number>:` (guestfish counts input lines). Commands
 * run one at a time: a handle is not reentrant, and the appliance answers in order anyway.
 */
export class GuestfishProcess {
  private readonly child: ChildProcess;
  private readonly nonce = randomBytes(12).toString('hex');
  private queue: Promise<unknown> = Promise.resolve();
  private current: Command | null = null;
  private buffer = '';
  private output = '';
  private sent = 0;
  private seq = 0;
  private exited: GuestfsError | null = null;
  private readonly exitedPromise: Promise<void>;

  constructor(env: NodeJS.ProcessEnv) {
    // `exec`: the shell becomes guestfish, so the pid we hold is guestfish's and leads its own
    // process group (detached), which also holds qemu and libguestfs's recovery process.
    this.child = spawn('sh', ['-c', 'exec guestfish --no-progress-bars 2>&1'], { env, detached: true, stdio: ['pipe', 'pipe', 'ignore'] });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => this.onData(chunk));
    this.child.stdin!.on('error', () => undefined); // a dead guestfish is reported by 'exit'
    this.exitedPromise = new Promise((resolve) => {
      this.child.on('error', (e) => {
        this.onExit(`cannot start guestfish: ${e.message}`);
        resolve();
      });
      this.child.on('exit', (code, signal) => {
        this.onExit(`guestfish exited (${signal ?? `code ${code}`})`);
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.exited === null;
  }

  /** Resolves when the process has exited. */
  whenExited(): Promise<void> {
    return this.exitedPromise;
  }

  /** Runs one command (its arguments quoted here) and resolves with what it printed. */
  run(command: string, ...args: string[]): Promise<string> {
    const task = this.queue.then(() => this.send(command, args));
    this.queue = task.catch(() => undefined); // the next command runs after a failed one too
    return task;
  }

  /** Runs `fn` with the queue held, for work that spans commands and host-side setup (a FIFO). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const task = this.queue.then(fn);
    this.queue = task.catch(() => undefined);
    return task;
  }

  /** Sends a command without the queue: only from inside `exclusive`. */
  send(command: string, args: string[]): Promise<string> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise<string>((resolve, reject) => {
      // `-` keeps guestfish going after an error instead of exiting.
      const text = `-${command}${args.map((a) => ` ${fishArg(a)}`).join('')}`;
      if (Buffer.byteLength(text) > MAX_LINE_BYTES) {
        reject(new GuestfsError('GUESTFS_COMMAND', `${command}: its arguments are longer than guestfish takes (${MAX_LINE_BYTES} bytes)`));
        return;
      }
      const line = this.sent + 1;
      this.sent += 2;
      this.current = { line, resolve, reject };
      this.output = '';
      const sentinel = `${this.nonce}-${++this.seq}`;
      this.child.stdin!.write(`${text}\necho ${sentinel}\n`);
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line === `${this.nonce}-${this.seq}` && this.current) {
        this.finish(this.current);
        continue;
      }
      this.output += `${line}\n`;
      if (!this.current && this.output.length > TAIL * 2) this.output = this.output.slice(-TAIL);
    }
  }

  private finish(command: Command): void {
    this.current = null;
    const output = this.output;
    this.output = '';
    const marker = `*stdin*:${command.line}: `;
    const at = output.startsWith(marker) ? 0 : output.indexOf(`\n${marker}`) + 1;
    if (at > 0 || output.startsWith(marker)) {
      // The message runs to the end: libguestfs's messages may span lines.
      const message = output
        .slice(at + marker.length)
        .replace(/^libguestfs: error: /, '')
        .trim();
      command.reject(new GuestfsError(codeOfMessage(message), message));
      return;
    }
    command.resolve(output);
  }

  private onExit(why: string): void {
    if (this.exited) return;
    const tail = (this.output + this.buffer).trim().slice(-TAIL);
    this.exited = new GuestfsError('GUESTFS_CLOSED', tail ? `${why}: ${tail}` : why);
    const command = this.current;
    this.current = null;
    command?.reject(this.exited);
  }

  /** Asks guestfish to quit (it shuts the appliance down) and closes its input. */
  quit(): void {
    if (this.exited) return;
    this.child.stdin!.end('quit\n');
  }
}
