import { spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Service } from './postgres.js';
import { aptInstall, freePort, LaunchError, portIsFree, which } from './system.js';
import { readState, secret, writeState } from './state.js';
import { messageOf } from '@strongbox/core';

export async function redisAnswers(url: string): Promise<string | null> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined); // reported through the rejected ping below
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (error) {
    return messageOf(error);
  } finally {
    client.disconnect();
  }
}

export async function provideRedis(dataDir: string, given: string | undefined): Promise<Service> {
  if (given) {
    const problem = await redisAnswers(given);
    if (!problem) return { url: given, started: false, stop: async () => {} };
    console.warn(`strongbox: REDIS_URL does not answer (${problem}); starting a private Redis instead`);
  }
  let bin = which('redis-server');
  if (!bin) {
    aptInstall(['redis-server'], 'Redis (redis-server)');
    bin = which('redis-server');
    if (!bin) throw new LaunchError('redis-server was installed but is not on the PATH');
  }
  const state = readState(dataDir);
  const password = state.redis?.password ?? secret();
  let port = state.redis?.port ?? 0;
  const urlFor = (p: number) => `redis://:${encodeURIComponent(password)}@127.0.0.1:${p}`;
  if (port && !(await redisAnswers(urlFor(port)))) {
    console.log(`strongbox: Redis of this folder is already running on port ${port}; reusing it`);
    return { url: urlFor(port), started: false, stop: async () => {} };
  }
  if (!port || !(await portIsFree(port))) port = await freePort(63799);
  writeState(dataDir, { ...readState(dataDir), redis: { port, password } });

  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'redis.conf');
  // A config file, not arguments: the password stays out of the process list.
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `requirepass ${password}`,
      // Queues and leases must never be evicted (an evicted job or lease is lost work); keep them across restarts.
      'maxmemory-policy noeviction',
      'appendonly yes',
      'appendfsync everysec',
      'save ""',
      'daemonize no',
    ].join('\n') + '\n',
    { mode: 0o600 },
  );
  const log = openSync(join(dir, 'redis.log'), 'a');
  const child = spawn(bin, [conf], { detached: true, stdio: ['ignore', log, log] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 100; i++) {
    if (!(await redisAnswers(urlFor(port)))) break;
    if (child.exitCode !== null) throw new LaunchError(`redis-server exited with ${child.exitCode}; see ${join(dir, 'redis.log')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const problem = await redisAnswers(urlFor(port));
  if (problem) throw new LaunchError(`redis-server did not answer on port ${port}: ${problem}`);
  console.log(`strongbox: Redis started on 127.0.0.1:${port} (${dir})`);
  return {
    url: urlFor(port),
    started: true,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
