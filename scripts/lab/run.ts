import { CodedError } from '@strongbox/core';
import { spawn } from 'node:child_process';

export class LabError extends CodedError {}

export type RunResult = { stdout: string; stderr: string; code: number };

/** Runs a command without a shell; rejects with the command's stderr when it fails. */
export async function run(
  command: string,
  args: string[],
  options: { allowFailure?: boolean; env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new LabError('LAB_EXEC', `${command}: ${e.message}`)));
    child.on('close', (code) => {
      const result = { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code: code ?? -1 };
      if (result.code !== 0 && !options.allowFailure) {
        reject(new LabError('LAB_EXEC', `${command} ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`));
        return;
      }
      resolve(result);
    });
    if (child.stdin) {
      // A child may exit before reading its input; its exit code tells what happened.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}

export async function which(command: string): Promise<boolean> {
  const r = await run('sh', ['-c', `command -v ${command}`], { allowFailure: true });
  return r.code === 0;
}
