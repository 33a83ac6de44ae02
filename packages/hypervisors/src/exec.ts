import { spawn } from 'node:child_process';

export type ExecResult = { stdout: string; stderr: string; code: number };

/** Runs a program without a shell and collects its output; never rejects on exit codes. */
export function exec(command: string, args: string[], options: { timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const timer = options.timeoutMs
      ? setTimeout(() => {
          err.push(Buffer.from(`\n${command} timed out after ${options.timeoutMs} ms`));
          child.kill('SIGKILL');
        }, options.timeoutMs)
      : null;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code: code ?? -1 });
    });
    if (child.stdin) {
      // The child may exit before reading its input; its exit code tells what happened.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}
