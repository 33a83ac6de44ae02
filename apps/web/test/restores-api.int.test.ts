import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { NextRequest, type NextResponse } from 'next/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Role } from '@strongbox/core';
import { ApiTokens, Inventory, prisma, Users } from '@strongbox/db';
import { applyMigrations } from '@strongbox/db/migrate';
import { env } from '@strongbox/config';
import { onRunsWake } from '@strongbox/queue';

// The restore API through its route handlers, as a request reaches them: a Bearer token of a
// user of each role, against PostgreSQL (a database of its own: counts are of the whole
// database) and Redis (the controller's nudge). Nothing is mocked: the lines below only map
// apps/web's `@/` imports, which the root vitest config does not resolve, to their files.
vi.mock('@/server/api', () => import('../src/server/api'));
vi.mock('@/server/restore-schemas', () => import('../src/server/restore-schemas'));
vi.mock('@/server/restores-service', () => import('../src/server/restores-service'));
vi.mock('@/server/schemas', () => import('../src/server/schemas'));

type Handler = (req: NextRequest, context: { params: Promise<Record<string, string>> }) => Promise<NextResponse>;
type Routes = Record<'restores' | 'restore' | 'catalog' | 'points' | 'pools' | 'instants' | 'migrate' | 'instantStop' | 'sessionStop', Record<string, Handler>>;

const MiB = 2 ** 20;
const tag = () => randomBytes(3).toString('hex');
let routes: Routes;
let dbName: string;
const db = () => prisma();

beforeAll(async () => {
  // Before the first prisma() call, which reads DATABASE_URL once.
  const url = new URL(process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/strongbox_test');
  dbName = `${url.pathname.slice(1)}_web_${tag()}`;
  url.pathname = `/${dbName}`;
  await applyMigrations(url.toString());
  process.env.DATABASE_URL = url.toString();
  routes = {
    restores: await import('../src/app/api/v1/restores/route'),
    restore: await import('../src/app/api/v1/restores/[id]/route'),
    catalog: await import('../src/app/api/v1/restore-catalog/route'),
    points: await import('../src/app/api/v1/restore-catalog/points/route'),
    pools: await import('../src/app/api/v1/connections/[id]/pools/route'),
    instants: await import('../src/app/api/v1/instant-recoveries/route'),
    migrate: await import('../src/app/api/v1/instant-recoveries/[id]/migrate/route'),
    instantStop: await import('../src/app/api/v1/instant-recoveries/[id]/stop/route'),
    sessionStop: await import('../src/app/api/v1/sessions/[id]/stop/route'),
  } as unknown as Routes;
});

afterAll(async () => {
  const { redis } = await import('../src/server/redis');
  redis().disconnect();
  await db().$disconnect();
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await client.end();
});

async function userWithToken(role: Role) {
  const user = await new Users(db()).create({ email: `${role.toLowerCase()}-${tag()}@test.local`, name: role, role, password: 'a-long-password-9' });
  const { token } = await new ApiTokens(db()).create(user.id, 'test', null);
  return { id: user.id, token };
}

/** Calls a route handler as Next.js would, with the caller's token. */
async function call(
  method: 'GET' | 'POST',
  handler: Handler | undefined,
  token: string,
  path: string,
  options: { body?: unknown; params?: Record<string, string> } = {},
) {
  const req = new NextRequest(`http://localhost/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const res = await handler!(req, { params: Promise.resolve(options.params ?? {}) });
  return { status: res.status, json: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A connection with a host, two VMs, two pools; a repository a live mover sees and one none does; a point in each. */
async function estate() {
  const t = tag();
  const connection = await db().hypervisorConnection.create({ data: { name: `conn-${t}`, uri: 'qemu:///system', lastRescanAt: new Date() } });
  const host = await db().host.create({ data: { connectionId: connection.id, name: `host-${t}` } });
  const vm = (name: string) =>
    db().vm.create({
      data: {
        connectionId: connection.id,
        hostId: host.id,
        externalId: tag(),
        name,
        powerState: 'stopped',
        disks: { create: [{ name: 'vda', sizeBytes: 4n * BigInt(MiB) }] },
      },
    });
  const [source, other] = [await vm(`src-${t}`), await vm(`other-${t}`)];
  const online = await db().backupRepository.create({ data: { name: `repo-${t}`, path: `/var/tmp/sb-web-${t}` } });
  const offline = await db().backupRepository.create({ data: { name: `away-${t}`, path: `/var/tmp/sb-web-away-${t}` } });
  const mover = await db().mover.create({
    data: {
      name: `mover-${t}`,
      hostName: host.name,
      site: 'default',
      cores: 2,
      maxConcurrentTasks: 2,
      softwareVersion: 'test',
      lastHeartbeatAt: new Date(),
      repositoryIds: [online.id],
    },
  });
  await new Inventory(db()).applyPools(connection.id, [
    { name: 'default', type: 'dir', path: '/var/lib/libvirt/images', capacityBytes: 100 * MiB, availableBytes: 50 * MiB, active: true },
    { name: 'tiny', type: 'dir', path: '/srv/tiny', capacityBytes: 2 * MiB, availableBytes: MiB, active: true },
  ]);
  // 4 blocks of 1 MiB of which 2 are zero: 2 MiB of data.
  const disks = [{ name: 'vda', size: 4 * MiB, blockSize: MiB, codec: 'fast', newBytes: 2 * MiB, storedBytes: MiB, blocks: 4, zeroBlocks: 2 }];
  const point = (repositoryId: string, vmId: string | null, vmName: string, time: string) =>
    db().restorePoint.create({ data: { repositoryId, vmId, vmName, time: new Date(time), kind: 'full', path: `points/${vmName}/${time}`, disks } });
  const good = await point(online.id, source.id, source.name, '2026-12-01T10:00:00Z');
  const newer = await point(online.id, source.id, source.name, '2026-12-01T12:00:00Z');
  const away = await point(offline.id, source.id, source.name, '2026-11-30T10:00:00Z');
  // A VM whose inventory row is gone: its point keeps the name only.
  const gone = await point(online.id, null, `gone-${t}`, '2026-11-29T10:00:00Z');
  return { t, connection, host, source, other, online, mover, good, newer, away, gone };
}

const counts = async () => ({ sessions: await db().session.count(), tasks: await db().task.count(), audit: await db().auditLog.count() });

describe('POST /restores', () => {
  it('a Restore Operator starts a restore (202, its session, an audit row); a Viewer gets 403 and nothing is made', async () => {
    const e = await estate();
    const operator = await userWithToken('RestoreOperator');
    const viewer = await userWithToken('Viewer');
    const request = { kind: 'vm-new', pointId: e.good.id, name: `restored-${e.t}`, connectionId: e.connection.id, pool: 'default', networks: 'disconnected' };

    const before = await counts();
    const denied = await call('POST', routes.restores.POST, viewer.token, '/restores', { body: request });
    expect(denied.status).toBe(403);
    expect(denied.json.error.code).toBe('FORBIDDEN');
    expect(await counts()).toEqual(before);

    // The controller's round is nudged, so that the restore starts now.
    const subscriber = new Redis(env().REDIS_URL);
    let nudged = 0;
    const unsubscribe = onRunsWake(
      subscriber,
      env().STRONGBOX_REDIS_PREFIX,
      () => nudged++,
      (error) => expect.fail(String(error)),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = await call('POST', routes.restores.POST, operator.token, '/restores', { body: request });
    expect(started.status).toBe(202);
    const sessionId = started.json.sessionId as string;
    await expect.poll(() => nudged).toBeGreaterThan(0);
    await unsubscribe();
    subscriber.disconnect();
    expect(await db().session.findUniqueOrThrow({ where: { id: sessionId } })).toMatchObject({
      kind: 'restore',
      status: 'pending',
      triggeredBy: expect.stringMatching(/^restoreoperator-/),
    });
    const audit = await db().auditLog.findFirstOrThrow({ where: { action: 'restore.start' }, orderBy: { id: 'desc' } });
    expect(audit).toMatchObject({ userId: operator.id, targetType: 'restore-point', targetId: e.good.id });
    expect(audit.details).toMatchObject({ sessionId, request: { kind: 'vm-new', name: request.name, pool: 'default', connectionId: e.connection.id } });

    // Read back: the session with its request, and in the list.
    const one = await call('GET', routes.restore.GET, viewer.token, `/restores/${sessionId}`, { params: { id: sessionId } });
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({
      id: sessionId,
      kind: 'restore',
      restore: { kind: 'vm-new', point: { id: e.good.id, vmName: e.source.name }, pool: { name: 'default' }, newVmName: request.name, host: e.host.name },
      instantRecovery: null,
    });
    expect(one.json.restore.target).toContain(`new VM ${request.name}`);
    expect(one.json.tasks.map((t: { diskName: string }) => t.diskName)).toEqual(['vda']);
    const list = await call('GET', routes.restores.GET, viewer.token, '/restores?perPage=5');
    expect(list.json).toMatchObject({ page: 1, perPage: 5 });
    expect(list.json.data[0]).toMatchObject({ id: sessionId, restore: { kind: 'vm-new' } });
    // A session of another kind is no restore.
    const backup = await db().session.create({ data: { kind: 'backup', name: 'b', triggeredBy: 't' } });
    expect((await call('GET', routes.restore.GET, viewer.token, `/restores/${backup.id}`, { params: { id: backup.id } })).status).toBe(404);
  });

  it('surfaces each refusal with its status and field, makes no session, and audits the refused request', async () => {
    const e = await estate();
    const operator = await userWithToken('RestoreOperator');
    const newVm = { kind: 'vm-new', pointId: e.good.id, name: `restored-${e.t}`, connectionId: e.connection.id, pool: 'default' };
    const table: [string, unknown, number, string, RegExp][] = [
      ['an unknown point', { ...newVm, pointId: '00000000-0000-4000-8000-000000000000' }, 404, 'pointId', /no such restore point/],
      ['a name taken', { ...newVm, name: e.other.name }, 409, 'name', /exists on this connection/],
      ['an unknown pool', { ...newVm, pool: 'nope' }, 404, 'pool', /no storage pool nope/],
      ['too little free space', { ...newVm, pool: 'tiny' }, 409, 'pool', /1 MiB free, the disks need 2 MiB/],
      ['an in-place restore unconfirmed', { kind: 'vm-original', pointId: e.good.id }, 400, 'confirmOverwrite', /confirm/],
      ['the repository offline', { ...newVm, pointId: e.away.id }, 409, 'pointId', /offline/],
      ['no body fields at all', {}, 400, 'kind', /./],
    ];
    for (const [name, body, status, field, message] of table) {
      const before = await counts();
      const r = await call('POST', routes.restores.POST, operator.token, '/restores', { body });
      expect(r.status, name).toBe(status);
      expect(r.json.error.details.field, name).toBe(field);
      expect(r.json.error.details.fields[0], name).toMatchObject({ field, message: expect.stringMatching(message) });
      expect(r.json.error.message, name).toMatch(message);
      const after = await counts();
      expect({ sessions: after.sessions, tasks: after.tasks }, name).toEqual({ sessions: before.sessions, tasks: before.tasks });
      expect(after.audit, name).toBe(before.audit + 1);
      const audit = await db().auditLog.findFirstOrThrow({ orderBy: { id: 'desc' } });
      expect(audit, name).toMatchObject({ action: 'restore.refused', userId: operator.id });
      expect(audit.details, name).toMatchObject({ status, field });
    }
  });
});

describe('the restore catalog', () => {
  it('finds VMs by name with their points, also a VM no longer in the inventory', async () => {
    const e = await estate();
    const viewer = await userWithToken('Viewer');
    const found = await call('GET', routes.catalog.GET, viewer.token, `/restore-catalog?q=${e.t.toUpperCase()}`);
    expect(found.status).toBe(200);
    expect(found.json.data).toEqual([
      { vmId: null, name: `gone-${e.t}`, inInventory: false, connection: null, points: 1, newestAt: '2026-11-29T10:00:00.000Z' },
      {
        vmId: e.source.id,
        name: e.source.name,
        inInventory: true,
        connection: { id: e.connection.id, name: e.connection.name },
        points: 3,
        newestAt: '2026-12-01T12:00:00.000Z',
      },
    ]);
    const points = await call('GET', routes.points.GET, viewer.token, `/restore-catalog/points?vmId=${e.source.id}`);
    expect(points.json.data.map((p: { id: string }) => p.id)).toEqual([e.newer.id, e.good.id, e.away.id]);
    expect(points.json.data[0]).toMatchObject({
      kind: 'full',
      sizeBytes: 4 * MiB,
      storedBytes: MiB,
      disks: [{ name: 'vda', sizeBytes: 4 * MiB, storedBytes: MiB }],
      repository: { id: e.online.id, name: e.online.name },
    });
    const gone = await call('GET', routes.points.GET, viewer.token, `/restore-catalog/points?vmName=gone-${e.t}`);
    expect(gone.json.data.map((p: { id: string }) => p.id)).toEqual([e.gone.id]);
    const neither = await call('GET', routes.points.GET, viewer.token, '/restore-catalog/points');
    expect(neither.status).toBe(400);
    expect(neither.json.error.details.fields[0].field).toBe('vmId');
  });

  it("lists a connection's storage pools with their free space; an unknown connection is 404", async () => {
    const e = await estate();
    const viewer = await userWithToken('Viewer');
    const pools = await call('GET', routes.pools.GET, viewer.token, `/connections/${e.connection.id}/pools`, { params: { id: e.connection.id } });
    expect(pools.json.data.map((p: { name: string; availableBytes: number }) => [p.name, p.availableBytes])).toEqual([
      ['default', 50 * MiB],
      ['tiny', MiB],
    ]);
    const missing = '00000000-0000-4000-8000-000000000000';
    expect((await call('GET', routes.pools.GET, viewer.token, `/connections/${missing}/pools`, { params: { id: missing } })).status).toBe(404);
  });
});

describe('instant recoveries and stopping a restore', () => {
  it('migrate and stop: 202 once, 404 unknown, 409 when not running; audited; a Viewer may not', async () => {
    const e = await estate();
    const operator = await userWithToken('RestoreOperator');
    const viewer = await userWithToken('Viewer');
    const started = await call('POST', routes.restores.POST, operator.token, '/restores', {
      body: { kind: 'instant', pointId: e.good.id, name: `instant-${e.t}`, connectionId: e.connection.id },
    });
    expect(started.status).toBe(202);
    const sessionId = started.json.sessionId as string;
    const ir = await db().instantRecovery.create({
      data: {
        sessionId,
        moverId: e.mover.id,
        connectionId: e.connection.id,
        pointId: e.good.id,
        vmName: `instant-${e.t}`,
        state: 'running',
        bytesServed: 5n * BigInt(MiB),
      },
    });
    const live = await call('GET', routes.instants.GET, viewer.token, '/instant-recoveries');
    expect(live.json.data.find((r: { id: string }) => r.id === ir.id)).toMatchObject({
      vmName: `instant-${e.t}`,
      state: 'running',
      bytesServed: 5 * MiB,
      connection: { name: e.connection.name },
    });
    expect((await call('GET', routes.restore.GET, viewer.token, `/restores/${sessionId}`, { params: { id: sessionId } })).json.instantRecovery).toMatchObject({
      id: ir.id,
    });

    const params = { id: ir.id };
    expect((await call('POST', routes.migrate.POST, viewer.token, `/instant-recoveries/${ir.id}/migrate`, { body: { pool: 'default' }, params })).status).toBe(
      403,
    );
    const badBody = await call('POST', routes.migrate.POST, operator.token, `/instant-recoveries/${ir.id}/migrate`, {
      body: { pool: 'default', format: 'vmdk' },
      params,
    });
    expect(badBody.status).toBe(400);
    expect(badBody.json.error.details.fields[0].field).toBe('format');
    const noPool = await call('POST', routes.migrate.POST, operator.token, `/instant-recoveries/${ir.id}/migrate`, { body: { pool: 'nope' }, params });
    expect(noPool.status).toBe(404);
    const auditBefore = await db().auditLog.count();
    const migrate = await call('POST', routes.migrate.POST, operator.token, `/instant-recoveries/${ir.id}/migrate`, {
      body: { pool: 'default', format: 'raw' },
      params,
    });
    expect(migrate).toEqual({ status: 202, json: { accepted: true } });
    expect(await db().instantRecovery.findUniqueOrThrow({ where: { id: ir.id } })).toMatchObject({ state: 'migrating' });
    expect(await db().auditLog.findFirstOrThrow({ orderBy: { id: 'desc' } })).toMatchObject({
      action: 'instant.migrate',
      targetId: ir.id,
      details: { pool: 'default', format: 'raw' },
    });
    expect(await db().auditLog.count()).toBe(auditBefore + 1);
    // Twice is one migration; a migrating recovery cannot be stopped.
    expect(
      (await call('POST', routes.migrate.POST, operator.token, `/instant-recoveries/${ir.id}/migrate`, { body: { pool: 'default' }, params })).status,
    ).toBe(409);
    expect((await call('POST', routes.instantStop.POST, operator.token, `/instant-recoveries/${ir.id}/stop`, { params })).status).toBe(409);
    const missing = '00000000-0000-4000-8000-000000000000';
    expect((await call('POST', routes.instantStop.POST, operator.token, `/instant-recoveries/${missing}/stop`, { params: { id: missing } })).status).toBe(404);
    expect(await db().auditLog.findFirstOrThrow({ orderBy: { id: 'desc' } })).toMatchObject({ action: 'instant.stop.refused', targetId: missing });

    await db().instantRecovery.update({ where: { id: ir.id }, data: { state: 'broken', error: 'lost' } });
    expect((await call('POST', routes.instantStop.POST, operator.token, `/instant-recoveries/${ir.id}/stop`, { params })).status).toBe(202);
    expect(await db().instantRecovery.findUniqueOrThrow({ where: { id: ir.id } })).toMatchObject({ state: 'stopping' });
    expect(await db().outboxMessage.count({ where: { name: 'instant.action' } })).toBe(2);
  });

  it('a Restore Operator stops a restore but not a backup; a Viewer neither', async () => {
    const e = await estate();
    const operator = await userWithToken('RestoreOperator');
    const viewer = await userWithToken('Viewer');
    const started = await call('POST', routes.restores.POST, operator.token, '/restores', {
      body: { kind: 'disks', pointId: e.good.id, disks: ['vda'], to: { mode: 'pool', connectionId: e.connection.id, pool: 'default' } },
    });
    expect(started.status).toBe(202);
    const id = started.json.sessionId as string;
    const backup = await db().session.create({ data: { kind: 'backup', name: 'b', triggeredBy: 't', status: 'running' } });
    expect((await call('POST', routes.sessionStop.POST, viewer.token, `/sessions/${id}/stop`, { params: { id } })).status).toBe(403);
    expect((await call('POST', routes.sessionStop.POST, operator.token, `/sessions/${backup.id}/stop`, { params: { id: backup.id } })).status).toBe(403);
    expect((await call('POST', routes.sessionStop.POST, operator.token, `/sessions/${id}/stop`, { params: { id } })).status).toBe(202);
    expect(await db().session.findUniqueOrThrow({ where: { id } })).toMatchObject({ stopRequested: true });
  });
});
