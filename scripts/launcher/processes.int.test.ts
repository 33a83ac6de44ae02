import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor, type RestartPolicy, type SupervisorEvent } from './processes.js';

// Real child processes (`node -e`), small policy values: each test takes a few seconds at most.

const FOREVER = 'setInterval(() => {}, 1000)';
const exitAfter = (ms: number, code: number) => `setTimeout(() => process.exit(${code}), ${ms})`;

const supervisors: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stopAll(2_000)));
});

function supervise(policy: Partial<RestartPolicy> = {}, onEvent?: (event: SupervisorEvent, supervisor: Supervisor) => void) {
  const events: SupervisorEvent[] = [];
  const logs: string[] = [];
  const output: string[] = [];
  const supervisor: Supervisor = new Supervisor({
    // Lenient defaults: each test tightens only what it is about.
    initialBackoffMs: 50,
    maxBackoffMs: 1_000,
    stableAfterMs: 60_000,
    maxCrashes: 100,
    crashWindowMs: 60_000,
    ...policy,
    onEvent: (event) => {
      events.push(event);
      onEvent?.(event, supervisor);
    },
    log: (message) => logs.push(message),
    output: (line) => output.push(line),
  });
  supervisors.push(supervisor);
  const run = (name: string, script: string, env: NodeJS.ProcessEnv = {}) =>
    supervisor.start(name, process.execPath, ['-e', script], { cwd: tmpdir(), env: { ...process.env, ...env } });
  const restartsOf = (name: string) => events.filter((e) => e.process === name && e.kind === 'restarted');
  return { supervisor, events, logs, output, run, restartsOf };
}

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A zombie (exited, not yet reaped by whoever adopted it) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    // No /proc entry: the process is gone.
    return false;
  }
}

const gaps = (events: SupervisorEvent[]) => events.slice(1).map((e, i) => e.at.getTime() - events[i]!.at.getTime());

describe('Supervisor', () => {
  it('restarts a crashed process and keeps the others running', async () => {
    const { supervisor, logs, run, restartsOf } = supervise();
    run('steady', FOREVER);
    run('crasher', exitAfter(100, 3));
    const steadyPid = supervisor.status('steady').pid!;

    await until('two restarts of crasher', () => restartsOf('crasher').length >= 2);
    expect(restartsOf('crasher').slice(0, 2)).toEqual([
      { process: 'crasher', kind: 'restarted', exitCode: 3, signal: null, restarts: 1, at: expect.any(Date) },
      { process: 'crasher', kind: 'restarted', exitCode: 3, signal: null, restarts: 2, at: expect.any(Date) },
    ]);
    expect(logs).toContain('crasher exited unexpectedly (code 3); restart 1 in 50 ms');
    expect(supervisor.status('steady')).toEqual({ state: 'running', pid: steadyPid, restarts: 0 });
    expect(isAlive(steadyPid)).toBe(true);
    expect(restartsOf('steady')).toEqual([]);
  });

  it('restarts a process killed by a signal and reports the signal', async () => {
    const { supervisor, logs, run, restartsOf } = supervise();
    run('victim', FOREVER);
    const firstPid = supervisor.status('victim').pid!;
    process.kill(firstPid, 'SIGKILL');

    await until('the restart', () => restartsOf('victim').length === 1);
    expect(restartsOf('victim')[0]).toMatchObject({ exitCode: null, signal: 'SIGKILL', restarts: 1 });
    expect(logs[0]).toBe('victim exited unexpectedly (signal SIGKILL); restart 1 in 50 ms');
    const { state, pid } = supervisor.status('victim');
    expect(state).toBe('running');
    expect(pid).not.toBe(firstPid);
    expect(isAlive(pid!)).toBe(true);
  });

  it('doubles the wait after each crash in a row, up to the cap', async () => {
    const { logs, run, restartsOf } = supervise({ initialBackoffMs: 100, maxBackoffMs: 400 });
    run('crasher', 'process.exit(1)');

    await until('six restarts', () => restartsOf('crasher').length >= 6);
    expect(logs.slice(0, 6).map((l) => l.replace(/^.*; /, ''))).toEqual([
      'restart 1 in 100 ms',
      'restart 2 in 200 ms',
      'restart 3 in 400 ms',
      'restart 4 in 400 ms',
      'restart 5 in 400 ms',
      'restart 6 in 400 ms',
    ]);
    // Restart n+1 comes at least its backoff after restart n (plus the run's own short life).
    const between = gaps(restartsOf('crasher').slice(0, 6));
    [200, 400, 400, 400, 400].forEach((backoff, i) => expect(between[i]).toBeGreaterThanOrEqual(backoff - 5));
    // Uncapped, the last wait alone would have been 1 600 ms.
    expect(between[4]).toBeLessThan(1_500);
  });

  it('gives up after maxCrashes within the window, says so, and lets the owner stop the rest', async () => {
    let stopped: Promise<void> | undefined;
    const { supervisor, events, logs, run } = supervise({ maxCrashes: 3, crashWindowMs: 10_000, initialBackoffMs: 20 }, (event, s) => {
      // What start.ts does: a give-up stops everything.
      if (event.kind === 'gave-up') stopped = s.stopAll(2_000);
    });
    run('steady', FOREVER);
    run('crasher', 'process.exit(7)');
    const steadyPid = supervisor.status('steady').pid!;

    await until('the give-up', () => stopped !== undefined);
    await stopped;
    await sleep(300);
    expect(events.map(({ process, kind, exitCode, signal, restarts }) => ({ process, kind, exitCode, signal, restarts }))).toEqual([
      { process: 'crasher', kind: 'restarted', exitCode: 7, signal: null, restarts: 1 },
      { process: 'crasher', kind: 'restarted', exitCode: 7, signal: null, restarts: 2 },
      { process: 'crasher', kind: 'gave-up', exitCode: 7, signal: null, restarts: 2 },
    ]);
    expect(logs).toContain('crasher exited unexpectedly (code 7): 3 crashes within 10 s; giving up on it (restarted 2 times)');
    expect(supervisor.status('crasher')).toMatchObject({ state: 'gave-up', pid: undefined });
    expect(isAlive(steadyPid)).toBe(false);
  });

  it('does not give up on crashes spread wider than the window', async () => {
    // Each run lives 200 ms, so three crashes always span at least 400 ms: never 3 within 300 ms.
    const { events, run, restartsOf } = supervise({ maxCrashes: 3, crashWindowMs: 300, initialBackoffMs: 10, maxBackoffMs: 10 });
    run('slow-crasher', exitAfter(200, 1));

    await until('five restarts', () => restartsOf('slow-crasher').length >= 5);
    expect(events.filter((e) => e.kind === 'gave-up')).toEqual([]);
  });

  it('stopAll while a restart is waiting starts nothing more', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'strongbox-supervisor-')), 'runs');
    const appendRun = `require('fs').appendFileSync(process.env.MARKER, 'x'); process.exit(1)`;
    const { supervisor, events, run } = supervise({ initialBackoffMs: 1_000 });
    run('crasher', appendRun, { MARKER: marker });

    await until('the pending restart', () => supervisor.status('crasher').state === 'restarting');
    const began = Date.now();
    await supervisor.stopAll();
    expect(Date.now() - began).toBeLessThan(500); // it cancelled the wait rather than sitting it out
    run('late', appendRun, { MARKER: marker }); // a start after stopping began is refused too
    await sleep(1_300);

    expect(readFileSync(marker, 'utf8')).toBe('x');
    expect(events).toEqual([]);
    expect(supervisor.status('crasher')).toEqual({ state: 'stopped', pid: undefined, restarts: 0 });
  });

  it('starts the backoff over after a run that lasted stableAfterMs', async () => {
    const counter = join(mkdtempSync(join(tmpdir(), 'strongbox-supervisor-')), 'count');
    // Runs 0–2 crash at once; run 3 stays up 700 ms (longer than stableAfterMs) before crashing.
    const script = `const fs = require('fs'); const f = process.env.COUNTER;
      const n = fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8')) : 0;
      fs.writeFileSync(f, String(n + 1));
      setTimeout(() => process.exit(1), n === 3 ? 700 : 0);`;
    const { logs, run, restartsOf } = supervise({ initialBackoffMs: 100, maxBackoffMs: 10_000, stableAfterMs: 500 });
    run('flaky', script, { COUNTER: counter });

    await until('five restarts', () => restartsOf('flaky').length >= 5);
    expect(logs.slice(0, 5).map((l) => l.replace(/^.*; /, ''))).toEqual([
      'restart 1 in 100 ms',
      'restart 2 in 200 ms',
      'restart 3 in 400 ms',
      'restart 4 in 100 ms',
      'restart 5 in 200 ms',
    ]);
  });

  it('counts a command that cannot be spawned as a crash instead of throwing', async () => {
    const { events, logs, supervisor } = supervise({ maxCrashes: 2 });
    supervisor.start('ghost', '/nonexistent/strongbox-test-binary', [], { cwd: tmpdir(), env: process.env });

    await until('the give-up', () => events.some((e) => e.kind === 'gave-up'));
    expect(events.map((e) => [e.kind, e.exitCode, e.signal, e.restarts])).toEqual([
      ['restarted', null, null, 1],
      ['gave-up', null, null, 1],
    ]);
    expect(logs[0]).toMatch(/^ghost could not be started \(.*ENOENT.*\); restart 1 in 50 ms$/);
  });

  it('kills what a crashed process left behind in its group before restarting it', async () => {
    const script = `const c = require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(FOREVER)}], { stdio: 'ignore' });
      console.log('grandchild ' + c.pid); setTimeout(() => process.exit(1), 100);`;
    const { output, run, restartsOf } = supervise({ initialBackoffMs: 300 });
    run('parent', script);

    const grandchildren = () => output.filter((l) => l.startsWith('[parent] grandchild ')).map((l) => Number(l.split(' ')[2]));
    try {
      await until('the grandchild', () => grandchildren().length > 0);
      await until('the restart', () => restartsOf('parent').length === 1);
      await until('the grandchild to be gone', () => !isAlive(grandchildren()[0]!), 2_000);
    } finally {
      // Should this fail, every run has left one behind, outside the group stopAll stops.
      for (const pid of grandchildren()) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('stopAll stops running processes without restarting them, killing one that ignores SIGTERM', async () => {
    const { supervisor, events, logs, output, run } = supervise();
    run('steady', FOREVER);
    run('stubborn', `process.on('SIGTERM', () => {}); console.log('ready'); ${FOREVER}`);
    await until('stubborn to be ready', () => output.includes('[stubborn] ready'));
    const pids = [supervisor.status('steady').pid!, supervisor.status('stubborn').pid!];

    await supervisor.stopAll(200);
    await sleep(200);
    expect(pids.map(isAlive)).toEqual([false, false]);
    expect(logs).toEqual(['stubborn did not stop within 200 ms; killing it']);
    expect(events).toEqual([]);
  });
});
