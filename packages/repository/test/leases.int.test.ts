import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processStart } from '@strongbox/config';
import { Repository } from '../src/index.js';
import { listLeases } from '../src/leases.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('leases');
afterAll(tmp.cleanup);

const lease = (root: string, name: string, info: object) => writeFileSync(join(root, 'locks', `${name}.lease`), JSON.stringify(info));

describe('writer leases of this host', () => {
  it('a lease of a process that died is not live, even when its pid came back (a restarted container\u2019s worker is pid 1 again)', async () => {
    const repo = await Repository.create(join(tmp.dir, 'r1'));
    const me = { host: hostname(), pid: process.pid, parent: null, started: Date.now() - 60_000 };
    // This very pid, started at another time: the process that wrote it is gone.
    lease(repo.path, 'reused', { ...me, leaseId: 'reused', pointId: 'vm1/20260101T000000.000Z', pidStart: (processStart(process.pid) ?? 0) - 1 });
    lease(repo.path, 'mine', { ...me, leaseId: 'mine', pointId: 'vm1/20260101T000001.000Z', pidStart: processStart(process.pid) });
    // Written before leases recorded their process's start: judged by the pid alone, as before.
    lease(repo.path, 'older', { ...me, leaseId: 'older', pointId: 'vm1/20260101T000002.000Z' });
    const live = Object.fromEntries((await listLeases(repo.path)).map((l) => [l.info.leaseId, l.live]));
    expect(live).toEqual({ reused: false, mine: true, older: true });
    // GC clears the dead one, and only it: it no longer holds back what a crashed writer left.
    mkdirSync(join(repo.path, 'points', 'vm1', '20260101T000000.000Z'), { recursive: true });
    await repo.gc();
    expect(readdirSync(join(repo.path, 'locks')).sort()).toEqual(['mine.lease', 'older.lease']);
    expect(readdirSync(join(repo.path, 'points', 'vm1'))).toEqual([]);
  });
});
