import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { messageOf } from '@strongbox/core';

/**
 * What the Supervisor tells its owner. start.ts appends each one to
 * `<dataDir>/supervisor-events.jsonl` (see supervisor-events.ts) for the console to show.
 */
export type SupervisorEvent = {
  process: string;
  /** `restarted`: a new run has just been spawned; `gave-up`: the process will not be started again. */
  kind: 'restarted' | 'gave-up';
  /** How the run that ended exited: its exit code, or the signal that killed it (both null when it could not be spawned). */
  exitCode: number | null;
  signal: string | null;
  /** Restarts of this process so far (for `gave-up`: those made before giving up). */
  restarts: number;
  at: Date;
};

export type RestartPolicy = {
  /** The wait before the first restart; it doubles with each further crash in a row… */
  initialBackoffMs: number;
  /** …up to this. */
  maxBackoffMs: number;
  /** A run that lasted this long was healthy: its crash starts the backoff over. */
  stableAfterMs: number;
  /** Give up on a process when it has crashed `maxCrashes` times within `crashWindowMs`. */
  maxCrashes: number;
  crashWindowMs: number;
};

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialBackoffMs: 1_000,
  maxBackoffMs: 30_000,
  stableAfterMs: 60_000,
  maxCrashes: 5,
  crashWindowMs: 120_000,
};

export type SupervisorOptions = Partial<RestartPolicy> & {
  /** Called on each restart and give-up. Deciding what a give-up means (start.ts stops everything) is the owner's job. */
  onEvent?: (event: SupervisorEvent) => void;
  /** The Supervisor's own lines (crashes, restarts, give-ups); `strongbox: …` on stderr by default. */
  log?: (message: string) => void;
  /** The children's output, one line at a time, prefixed with `[name] `; stdout by default. */
  output?: (line: string) => void;
};

export type ProcessState = 'running' | 'restarting' | 'gave-up' | 'stopped';

type Spec = { command: string; args: string[]; cwd: string; env: NodeJS.ProcessEnv };
type Run = { child: ChildProcess; startedAt: number; exited: Promise<void> };
type Managed = {
  name: string;
  spec: Spec;
  run: Run | null;
  /** A restart waiting out its backoff. */
  pending: NodeJS.Timeout | null;
  /** The process group of a crashed run that still had members when it crashed (they were sent SIGTERM). */
  leftovers: number | null;
  restarts: number;
  /** Crashes since the last healthy run: they set the backoff. */
  inARow: number;
  /** When the recent crashes happened, for the give-up window. */
  crashes: number[];
  gaveUp: boolean;
};

/**
 * Runs the long-lived processes (web, worker) each in its own process group, prefixes their
 * output, restarts one that exits on its own (with backoff, giving up after repeated crashes
 * in a short time), and stops them in reverse order: SIGTERM, then SIGKILL after a grace.
 */
export class Supervisor {
  private readonly processes: Managed[] = [];
  private readonly policy: RestartPolicy;
  private readonly onEvent: (event: SupervisorEvent) => void;
  private readonly log: (message: string) => void;
  private readonly output: (line: string) => void;
  private stopping: Promise<void> | null = null;

  constructor(options: SupervisorOptions = {}) {
    const { onEvent, log, output, ...policy } = options;
    this.policy = { ...DEFAULT_RESTART_POLICY, ...policy };
    this.onEvent = onEvent ?? (() => {});
    this.log = log ?? ((message) => console.error(`strongbox: ${message}`));
    this.output = output ?? ((line) => process.stdout.write(`${line}\n`));
  }

  start(name: string, command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): void {
    if (this.processes.some((p) => p.name === name)) throw new Error(`a process named ${name} is already supervised`);
    // Once stopping has begun nothing may start: a child spawned now would outlive the launcher
    // in its own process group (start-up still running when Ctrl-C came).
    if (this.stopping) return;
    const managed: Managed = {
      name,
      spec: { command, args, ...options },
      run: null,
      pending: null,
      leftovers: null,
      restarts: 0,
      inARow: 0,
      crashes: [],
      gaveUp: false,
    };
    this.processes.push(managed);
    this.spawnRun(managed);
  }

  status(name: string): { state: ProcessState; pid: number | undefined; restarts: number } {
    const managed = this.processes.find((p) => p.name === name);
    if (!managed) throw new Error(`no process named ${name} is supervised`);
    const state: ProcessState = managed.gaveUp ? 'gave-up' : managed.pending ? 'restarting' : managed.run && !this.stopping ? 'running' : 'stopped';
    return { state, pid: managed.run?.child.pid, restarts: managed.restarts };
  }

  /** Stops every process, cancelling restarts that are waiting; calling it again waits for the same stop. */
  stopAll(graceMs = 10_000): Promise<void> {
    this.stopping ??= this.stopEach(graceMs);
    return this.stopping;
  }

  private async stopEach(graceMs: number): Promise<void> {
    for (const managed of this.processes) {
      if (managed.pending) clearTimeout(managed.pending);
      managed.pending = null;
      this.killLeftovers(managed);
    }
    for (const { name, run } of [...this.processes].reverse()) {
      if (!run) continue;
      const { child, exited } = run;
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        await exited;
        continue;
      }
      if (!signalGroup(child.pid, 'SIGTERM')) continue; // the group is already gone
      const timer = setTimeout(() => {
        this.log(`${name} did not stop within ${duration(graceMs)}; killing it`);
        signalGroup(child.pid!, 'SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    }
  }

  private spawnRun(managed: Managed): void {
    const { command, args, cwd, env } = managed.spec;
    const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => this.output(`[${managed.name}] ${line}`));
    }
    const run: Run = { child, startedAt: Date.now(), exited: Promise.resolve() };
    run.exited = new Promise<void>((resolve) => {
      let ended = false;
      const end = (code: number | null, signal: string | null, error?: Error) => {
        if (ended) return;
        ended = true;
        resolve();
        this.ended(managed, run, code, signal, error);
      };
      child.once('exit', (code, signal) => end(code, signal));
      // A spawn that fails (e.g. ENOENT) emits 'error' and maybe no 'exit'; an 'error' without a
      // listener would throw and take the launcher down, leaving the other groups running.
      child.on('error', (error) => {
        if (child.pid === undefined) end(null, null, error);
        else this.log(`${managed.name}: ${messageOf(error)}`);
      });
    });
    managed.run = run;
  }

  private ended(managed: Managed, run: Run, code: number | null, signal: string | null, error: Error | undefined): void {
    if (managed.run === run) managed.run = null;
    if (this.stopping) return;
    const now = Date.now();
    // Members of the group that outlived its leader (e.g. a helper the mover spawned) would hold
    // ports and locks the next run needs: ask them to go now, kill them before the restart.
    if (run.child.pid !== undefined && signalGroup(run.child.pid, 'SIGTERM')) managed.leftovers = run.child.pid;
    if (now - run.startedAt >= this.policy.stableAfterMs) managed.inARow = 0;
    managed.crashes = [...managed.crashes.filter((t) => now - t < this.policy.crashWindowMs), now];
    const how = `${managed.name} ${error ? `could not be started (${messageOf(error)})` : `exited unexpectedly (${signal ? `signal ${signal}` : `code ${code}`})`}`;

    if (managed.crashes.length >= this.policy.maxCrashes) {
      managed.gaveUp = true;
      this.killLeftovers(managed);
      this.log(
        `${how}: ${managed.crashes.length} crashes within ${duration(this.policy.crashWindowMs)}; giving up on it (restarted ${managed.restarts} times)`,
      );
      this.emit({ process: managed.name, kind: 'gave-up', exitCode: code, signal, restarts: managed.restarts, at: new Date(now) });
      return;
    }
    const delay = Math.min(this.policy.initialBackoffMs * 2 ** managed.inARow, this.policy.maxBackoffMs);
    managed.inARow++;
    this.log(`${how}; restart ${managed.restarts + 1} in ${duration(delay)}`);
    managed.pending = setTimeout(() => {
      managed.pending = null;
      if (this.stopping) return; // stopAll clears the timer; this guards a callback already queued
      this.killLeftovers(managed);
      managed.restarts++;
      this.spawnRun(managed);
      this.emit({ process: managed.name, kind: 'restarted', exitCode: code, signal, restarts: managed.restarts, at: new Date() });
    }, delay);
  }

  private killLeftovers(managed: Managed): void {
    if (managed.leftovers !== null) signalGroup(managed.leftovers, 'SIGKILL');
    managed.leftovers = null;
  }

  private emit(event: SupervisorEvent): void {
    try {
      this.onEvent(event);
    } catch (error) {
      // The owner's hook failing (e.g. a full disk for the events file) must not stop the
      // supervising of the others: say so and carry on.
      this.log(`the supervisor's event hook failed: ${messageOf(error)}`);
    }
  }
}

/** Signals a whole process group; false when it has no member left. */
function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    // ESRCH: every member has exited already (what the callers want to know); EPERM would mean
    // the number now names a group that is not ours, which must not be signalled either.
    return false;
  }
}

function duration(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 60_000 || ms % 60_000) return `${ms / 1_000} s`;
  return `${ms / 60_000} min`;
}
