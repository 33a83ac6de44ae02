import { existsSync, readFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';

export type SuiteResult = { name: string; passed: number; failed: number; skipped: number; exitCode: number };

/** Runs a test runner in the foreground, its output shown as it comes. */
export function runRunner(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): number {
  const r = spawnSync(command, args, { ...options, stdio: 'inherit' });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

/**
 * The same, without blocking the event loop: for the end-to-end runner, during which the
 * Supervisor must go on relaying the console's output and restarting what crashes.
 */
export function runRunnerAsync(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

export function vitestCounts(name: string, jsonFile: string, exitCode: number): SuiteResult {
  if (!existsSync(jsonFile)) return { name, passed: 0, failed: 1, skipped: 0, exitCode: exitCode || 1 };
  const report = JSON.parse(readFileSync(jsonFile, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
  };
  return {
    name,
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    skipped: report.numPendingTests + report.numTodoTests,
    exitCode,
  };
}

export function playwrightCounts(name: string, jsonFile: string, exitCode: number): SuiteResult {
  if (!existsSync(jsonFile)) return { name, passed: 0, failed: 1, skipped: 0, exitCode: exitCode || 1 };
  const { stats } = JSON.parse(readFileSync(jsonFile, 'utf8')) as {
    stats: { expected: number; unexpected: number; skipped: number; flaky: number };
  };
  return { name, passed: stats.expected + stats.flaky, failed: stats.unexpected, skipped: stats.skipped, exitCode };
}

/** A failed runner with no failed test (e.g. it crashed) still counts as a failure. */
export function failures(result: SuiteResult): number {
  return result.failed > 0 ? result.failed : result.exitCode !== 0 ? 1 : 0;
}
