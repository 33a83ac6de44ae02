import { createHash } from 'node:crypto';
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { aptInstall, freePort, isRoot, LaunchError, portIsFree, postgresBinDir, run, runOrThrow } from './system.js';
import { readState, secret, writeState } from './state.js';
import { messageOf } from '@strongbox/core';

export type Service = { url: string; started: boolean; stop(): Promise<void> };

export async function postgresAnswers(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return messageOf(error);
  } finally {
    await client.end().catch(() => undefined); // the connection may never have opened
  }
}

/** PostgreSQL refuses to run as root: a private cluster runs as an ordinary user. */
function clusterUser(): { name: string; uid: number; gid: number } | null {
  if (!isRoot()) return null;
  let id = run('id', ['-u', 'postgres']);
  if (id.status !== 0) {
    runOrThrow('useradd', ['--system', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', 'postgres'], 'creating the postgres user');
    id = run('id', ['-u', 'postgres']);
  }
  const gid = Number(run('id', ['-g', 'postgres']).stdout.trim());
  return { name: 'postgres', uid: Number(id.stdout.trim()), gid };
}

function asUser(user: ReturnType<typeof clusterUser>, command: string, args: string[]): [string, string[]] {
  return user ? ['runuser', ['-u', user.name, '--', command, ...args]] : [command, args];
}

/**
 * The cluster lives in .data/postgres. When that folder is not reachable by the cluster's
 * user (a clone under a private home folder), the files live under /var/lib/strongbox and
 * .data/postgres links to them.
 */
function clusterDir(dataDir: string, user: ReturnType<typeof clusterUser>): string {
  const dir = join(dataDir, 'postgres');
  if (existsSync(dir) || !user) return dir;
  mkdirSync(dataDir, { recursive: true });
  if (run('runuser', ['-u', user.name, '--', 'test', '-x', dataDir]).status === 0) return dir;
  const hash = createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 12);
  const real = join('/var/lib/strongbox', hash, 'postgres');
  mkdirSync(real, { recursive: true });
  symlinkSync(real, dir);
  console.log(`strongbox: ${dir} links to ${real} (the postgres user cannot reach ${dataDir})`);
  return dir;
}

function pidAlive(dir: string): boolean {
  const pidFile = join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // no such process: a stale pid file from a crash
  }
}

export async function providePostgres(dataDir: string, given: string | undefined): Promise<Service> {
  if (given) {
    const problem = await postgresAnswers(given);
    if (!problem) return { url: given, started: false, stop: async () => {} };
    console.warn(`strongbox: DATABASE_URL does not answer (${problem}); starting a private PostgreSQL instead`);
  }
  let bin = postgresBinDir();
  if (!bin) {
    aptInstall(['postgresql'], 'PostgreSQL (initdb, pg_ctl)');
    bin = postgresBinDir();
    if (!bin) throw new LaunchError('PostgreSQL was installed but initdb was not found');
  }
  const user = clusterUser();
  const dir = clusterDir(dataDir, user);
  const state = readState(dataDir);
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    mkdirSync(dir, { recursive: true });
    const password = secret();
    const pwfile = join(dir, '..', `.pg-password-${process.pid}`);
    writeFileSync(pwfile, password, { mode: 0o600 });
    if (user) {
      chownSync(dir, user.uid, user.gid);
      chownSync(pwfile, user.uid, user.gid);
    }
    console.log(`strongbox: creating a private PostgreSQL cluster in ${dir}`);
    try {
      const [cmd, args] = asUser(user, join(bin, 'initdb'), [
        '-D',
        dir,
        '-U',
        'strongbox',
        `--pwfile=${pwfile}`,
        '--auth-host=scram-sha-256',
        '--auth-local=peer',
        '-E',
        'UTF8',
        '--no-locale',
      ]);
      runOrThrow(cmd, args, 'initdb');
    } finally {
      rmSync(pwfile, { force: true });
    }
    writeState(dataDir, { ...readState(dataDir), postgres: { port: state.postgres?.port ?? 0, password } });
  }
  const password = readState(dataDir).postgres?.password;
  if (!password) throw new LaunchError(`${dir} exists but its password is not in ${join(dataDir, 'local-state.json')}`);
  let port = readState(dataDir).postgres?.port ?? 0;
  const urlFor = (p: number) => `postgresql://strongbox:${encodeURIComponent(password)}@127.0.0.1:${p}/strongbox`;

  if (pidAlive(dir) && port && !(await postgresAnswers(urlFor(port).replace(/\/strongbox$/, '/postgres')))) {
    console.log(`strongbox: PostgreSQL of this folder is already running on port ${port}; reusing it`);
    return { url: urlFor(port), started: false, stop: async () => {} };
  }
  if (!port || !(await portIsFree(port))) port = await freePort(54329);
  writeState(dataDir, { ...readState(dataDir), postgres: { port, password } });
  const [cmd, args] = asUser(user, join(bin, 'pg_ctl'), [
    '-D',
    dir,
    '-l',
    join(dir, 'server.log'),
    '-w',
    '-t',
    '60',
    '-o',
    `-c port=${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`,
    'start',
  ]);
  // Its own session: Ctrl-C in the terminal must not stop the database before the
  // processes that use it.
  runOrThrow('setsid', [cmd, ...args], 'starting PostgreSQL');
  console.log(`strongbox: PostgreSQL started on 127.0.0.1:${port} (${dir})`);
  return {
    url: urlFor(port),
    started: true,
    stop: async () => {
      const [c, a] = asUser(user, join(bin!, 'pg_ctl'), ['-D', dir, '-m', 'fast', '-w', 'stop']);
      const r = run(c, a);
      if (r.status !== 0) console.error(`strongbox: stopping PostgreSQL failed: ${r.stderr.trim()}`);
    },
  };
}

export function isLink(path: string): boolean {
  return existsSync(path) && lstatSync(path).isSymbolicLink();
}
