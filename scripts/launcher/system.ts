import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CodedError } from '@strongbox/core';

export class LaunchError extends CodedError<'LAUNCH_FAILED'> {
  constructor(message: string) {
    super('LAUNCH_FAILED', message);
  }
}

export const isRoot = () => process.getuid?.() === 0;

export function which(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const full = join(dir, command);
    if (dir && existsSync(full)) return full;
  }
  return null;
}

export function run(command: string, args: string[], options: SpawnSyncOptions = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (r.error) throw new LaunchError(`${command}: ${r.error.message}`);
  return { status: r.status ?? 1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

export function runOrThrow(command: string, args: string[], what: string, options: SpawnSyncOptions = {}) {
  const r = run(command, args, options);
  if (r.status !== 0) {
    throw new LaunchError(`${what} failed (${command} exited ${r.status}): ${(r.stderr || r.stdout).trim().slice(-800)}`);
  }
  return r;
}

function isDebianLike(): boolean {
  return existsSync('/etc/debian_version') && which('apt-get') !== null;
}

let aptUpdated = false;

/**
 * Installs Debian packages when we may (root on Debian/Ubuntu); otherwise stops with a
 * message naming exactly what to install.
 */
export function aptInstall(packages: string[], what: string): void {
  if (!isRoot() || !isDebianLike()) {
    throw new LaunchError(`${what} is not installed. Install it and retry, e.g. on Debian/Ubuntu: sudo apt-get install ${packages.join(' ')}`);
  }
  console.log(`strongbox: installing ${packages.join(' ')} with apt-get (${what} was missing)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  if (!aptUpdated) {
    runOrThrow('apt-get', [...lock, 'update'], 'apt-get update', { env, stdio: 'inherit' });
    aptUpdated = true;
  }
  runOrThrow('apt-get', [...lock, 'install', '-y', '--no-install-recommends', ...packages], `apt-get install ${packages.join(' ')}`, {
    env,
    stdio: 'inherit',
  });
}

/** Debian keeps initdb/pg_ctl under /usr/lib/postgresql/<version>/bin, off the PATH. */
export function postgresBinDir(): string | null {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  const initdb = which('initdb');
  return initdb ? join(initdb, '..') : null;
}

export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** The preferred port when free, else the next free one above it. */
export async function freePort(preferred: number, host = '127.0.0.1'): Promise<number> {
  for (let port = preferred; port < preferred + 200; port++) {
    if (await portIsFree(port, host)) return port;
  }
  throw new LaunchError(`no free TCP port in ${preferred}–${preferred + 199}`);
}
