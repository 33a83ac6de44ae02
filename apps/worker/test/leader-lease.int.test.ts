import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@strongbox/config';
import { LeaderLease } from '../src/leader-lease.js';

const env = parseEnv(process.env);
const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
afterAll(() => redis.quit());
const key = () => `${env.STRONGBOX_REDIS_PREFIX}:test:leader:${randomBytes(4).toString('hex')}`;

describe('LeaderLease', () => {
  it('lets one controller lead; the standby takes over when the leader stops', async () => {
    const k = key();
    const a = new LeaderLease(redis, k, 2000);
    const b = new LeaderLease(redis, k, 2000);
    expect(await a.tick()).toBe(true);
    expect(await b.tick()).toBe(false);
    expect(await a.tick()).toBe(true); // renewal keeps it
    await a.stop();
    expect(await b.tick()).toBe(true);
    await b.stop();
  });

  it('loses the lease within its TTL when the leader dies without releasing it', async () => {
    const k = key();
    const dead = new LeaderLease(redis, k, 300);
    const standby = new LeaderLease(redis, k, 300);
    expect(await dead.tick()).toBe(true);
    expect(await standby.tick()).toBe(false);
    await new Promise((r) => setTimeout(r, 450));
    expect(await standby.tick()).toBe(true);
    // The old leader, back from a pause, finds it lost the lease and steps down.
    expect(await dead.tick()).toBe(false);
    expect(dead.isLeader).toBe(false);
    await standby.stop();
  });

  it('reports each change of leadership once', async () => {
    const k = key();
    const changes: boolean[] = [];
    const lease = new LeaderLease(redis, k, 2000, (leading) => changes.push(leading));
    await lease.tick();
    await lease.tick();
    await lease.stop();
    expect(changes).toEqual([true, false]);
  });
});
