import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/**
 * The soak's controller and mover, each a process of its own that it can kill, started
 * again two seconds after it dies — what `npm start`'s supervisor or a container's restart
 * policy does.
 */
export class Child {
  private child: ChildProcess | null = null;
  private stopping = false;
  restarts = 0;

  constructor(
    readonly role: 'controller' | 'mover',
    private readonly root: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    const child = spawn(process.execPath, ['--import', 'tsx', join(this.root, 'apps/worker/src/main.ts'), '--role', this.role], {
      cwd: this.root,
      env: { ...this.env, LOG_LEVEL: 'error' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    this.child = child;
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      this.restarts++;
      this.log(`${this.role} exited (${signal ?? `code ${code}`}); starting it again`);
      setTimeout(() => this.start(), 2_000);
    });
  }

  kill(): void {
    this.child?.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
