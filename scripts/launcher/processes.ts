import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

type Managed = { name: string; child: ChildProcess; exited: Promise<number | null> };

/**
 * Runs the long-lived processes (web, worker) each in its own process group, prefixes
 * their output, and stops them in reverse order: SIGTERM, then SIGKILL after a grace.
 */
export class Supervisor {
  private readonly processes: Managed[] = [];
  private stopping = false;

  constructor(private readonly onUnexpectedExit: (name: string, code: number | null) => void) {}

  start(name: string, command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): ChildProcess {
    const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${name}] ${line}\n`));
    }
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code, signal) => {
        if (!this.stopping) this.onUnexpectedExit(name, code ?? (signal ? 128 : null));
        resolve(code);
      }),
    );
    this.processes.push({ name, child, exited });
    return child;
  }

  async stopAll(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    for (const { name, child, exited } of [...this.processes].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        continue; // the group is already gone
      }
      const timer = setTimeout(() => {
        console.warn(`strongbox: ${name} did not stop within ${graceMs / 1000}s; killing it`);
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // exited between the timeout and the kill
        }
      }, graceMs);
      await exited;
      clearTimeout(timer);
    }
  }
}
