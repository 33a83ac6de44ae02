import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstantRecoveries, Inventory, Runs, restoreRequestOf, type PrismaClient } from '../src/index.js';
import { scratchDatabase } from './helpers.js';
import { seedJob, seedMover, seedRepository, seedVms } from './run-seed.js';

// Starting a restore against PostgreSQL: every refusal names its field and writes nothing;
// a restore goes to a mover near its target; a restore and a backup of one VM never run at once.
let db: PrismaClient;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await scratchDatabase('restores'));
});
afterAll(() => drop());

const MiB = 2 ** 20;

async function estate() {
  const { connectionId, hostName, vms } = await seedVms(db, [
    `src-${Math.random().toString(36).slice(2, 7)}`,
    `other-${Math.random().toString(36).slice(2, 7)}`,
  ]);
  const repository = await seedRepository(db);
  const near = await seedMover(db, { hostName, repositoryIds: [repository.id] });
  const far = await seedMover(db, { repositoryIds: [repository.id] });
  await new Inventory(db).applyPools(connectionId, [
    { name: 'default', type: 'dir', path: '/var/lib/libvirt/images', capacityBytes: 100 * MiB, availableBytes: 50 * MiB, active: true },
    { name: 'tiny', type: 'dir', path: '/srv/tiny', capacityBytes: 2 * MiB, availableBytes: MiB, active: true },
  ]);
  const point = await db.restorePoint.create({
    data: {
      repositoryId: repository.id,
      vmId: vms[0]!.id,
      vmName: vms[0]!.name,
      time: new Date('2026-12-01T10:00:00Z'),
      kind: 'full',
      path: `points/${vms[0]!.id}/1`,
      // 4 blocks of 1 MiB of which 2 are zero: 2 MiB of data.
      disks: [{ name: 'vda', size: 4 * MiB, blockSize: MiB, codec: 'fast', newBytes: 2 * MiB, storedBytes: MiB, blocks: 4, zeroBlocks: 2 }],
    },
  });
  return { connectionId, hostName, vms, repository, near, far, point };
}

const counts = async () => ({ sessions: await db.session.count(), tasks: await db.task.count(), logs: await db.sessionLog.count() });

describe('starting a restore', () => {
  it('refuses bad input naming the field, and writes nothing', async () => {
    const e = await estate();
    const runs = new Runs(db);
    const newVm = { kind: 'vm-new', pointId: e.point.id, name: 'restored-1', connectionId: e.connectionId, pool: 'default' };
    const table: [string, unknown, { field: string; status: number; message: RegExp }][] = [
      ['an unknown point', { ...newVm, pointId: '00000000-0000-4000-8000-000000000000' }, { field: 'pointId', status: 404, message: /no such restore point/ }],
      ['a name taken', { ...newVm, name: e.vms[1]!.name }, { field: 'name', status: 409, message: /exists on this connection/ }],
      ['a name with a path in it', { ...newVm, name: '../etc' }, { field: 'name', status: 400, message: /letters, digits/ }],
      ['an unknown pool', { ...newVm, pool: 'nope' }, { field: 'pool', status: 404, message: /no storage pool nope/ }],
      ['a path for a pool', { ...newVm, pool: '/var/tmp' }, { field: 'pool', status: 400, message: /not a path/ }],
      ['too little free space', { ...newVm, pool: 'tiny' }, { field: 'pool', status: 409, message: /1 MiB free, the disks need 2 MiB/ }],
      ['an in-place restore unconfirmed', { kind: 'vm-original', pointId: e.point.id }, { field: 'confirmOverwrite', status: 400, message: /confirm/ }],
      [
        'an unknown disk',
        { kind: 'disks', pointId: e.point.id, disks: ['vdz'], to: { mode: 'pool', connectionId: e.connectionId, pool: 'default' } },
        { field: 'disks', status: 400, message: /no disk vdz/ },
      ],
      ['an unknown kind', { kind: 'teleport', pointId: e.point.id }, { field: 'kind', status: 400, message: /./ }],
    ];
    for (const [name, request, expected] of table) {
      const before = await counts();
      const r = await runs.startRestore({ request, triggeredBy: 'test' });
      expect(r.started, name).toBe(false);
      if (!r.started)
        expect({ ...r.refusal, message: r.refusal.message }, name).toMatchObject({
          field: expected.field,
          status: expected.status,
          message: expect.stringMatching(expected.message),
        });
      expect(await counts(), name).toEqual(before);
    }
    // The repository offline: no running mover sees its store.
    await db.mover.updateMany({ where: { id: { in: [e.near.id, e.far.id] } }, data: { lastHeartbeatAt: new Date(0) } });
    const offline = await runs.startRestore({ request: newVm, triggeredBy: 'test' });
    expect(offline).toMatchObject({ started: false, refusal: { field: 'pointId', status: 409, message: expect.stringMatching(/offline/) } });
  });

  it('makes the session with one task per disk and the resolved request; the mover on the target host takes it', async () => {
    const e = await estate();
    const runs = new Runs(db);
    await db.mover.updateMany({ where: { id: { notIn: [e.near.id, e.far.id] } }, data: { lastHeartbeatAt: new Date(0) } });
    const r = await runs.startRestore({
      request: { kind: 'vm-new', pointId: e.point.id, name: 'restored-2', connectionId: e.connectionId, pool: 'default', networks: 'disconnected' },
      triggeredBy: 'ops@example.com',
    });
    expect(r.started).toBe(true);
    if (!r.started) return;
    const session = await db.session.findUniqueOrThrow({ where: { id: r.sessionId }, include: { tasks: true } });
    expect(session).toMatchObject({ kind: 'restore', status: 'pending', repositoryId: e.repository.id, targetVmId: null });
    expect(session.tasks.map((t) => [t.unit, t.diskName, Number(t.bytesTotal)])).toEqual([['restore', 'vda', 4 * MiB]]);
    const { request, resolved } = restoreRequestOf(session.request);
    expect(request).toMatchObject({ kind: 'vm-new', format: 'qcow2', networks: 'disconnected', powerOn: false });
    // Paths come from the server's records: the pool's and the repository's.
    expect(resolved).toMatchObject({
      pool: { name: 'default', path: '/var/lib/libvirt/images' },
      point: { repositoryPath: e.repository.path },
      host: { name: e.hostName },
    });
    expect(resolved.disks).toEqual([{ name: 'vda', size: 4 * MiB, dataBytes: 2 * MiB }]);
    await runs.dispatch(new Date());
    const task = await db.task.findFirstOrThrow({ where: { sessionId: r.sessionId } });
    expect(task).toMatchObject({ status: 'running', moverId: e.near.id });
    const message = await db.outboxMessage.findFirstOrThrow({ where: { name: 'restore.run', jobId: { contains: r.sessionId } } });
    expect(message.queue).toBe(`mover-${e.near.id}`);
  });

  it('a restore of a VM waits while its backup runs, says why once, and goes when the backup ends', async () => {
    const e = await estate();
    const runs = new Runs(db);
    await db.task.updateMany({ where: { status: { in: ['pending', 'running'] } }, data: { status: 'cancelled' } });
    await db.mover.updateMany({ where: { id: { notIn: [e.near.id, e.far.id] } }, data: { lastHeartbeatAt: new Date(0) } });
    await db.vm.update({ where: { id: e.vms[0]!.id }, data: { powerState: 'stopped' } });
    const job = await seedJob(db, { connectionId: e.connectionId, repositoryId: e.repository.id, objects: [{ type: 'vm', vmId: e.vms[0]!.id }] });
    const backup = await runs.startBackup({ jobId: job.id, trigger: 'user', triggeredBy: 'test' });
    await runs.dispatch(new Date());
    expect(await db.task.findFirstOrThrow({ where: { sessionId: backup.sessionId! } })).toMatchObject({ status: 'running' });
    const restore = await runs.startRestore({ request: { kind: 'vm-original', pointId: e.point.id, confirmOverwrite: true }, triggeredBy: 'test' });
    expect(restore.started).toBe(true);
    if (!restore.started) return;
    expect((await db.session.findUniqueOrThrow({ where: { id: restore.sessionId } })).targetVmId).toBe(e.vms[0]!.id);
    await runs.dispatch(new Date());
    await runs.dispatch(new Date());
    expect(await db.task.findFirstOrThrow({ where: { sessionId: restore.sessionId } })).toMatchObject({
      status: 'pending',
      waitingFor: expect.stringMatching(/a backup of this VM is running/),
    });
    const waits = await db.sessionLog.findMany({ where: { sessionId: restore.sessionId, message: { contains: 'waits' } } });
    expect(waits).toHaveLength(1);
    // The backup ends: the restore goes at the next round.
    await db.task.updateMany({ where: { sessionId: backup.sessionId! }, data: { status: 'success', endedAt: new Date() } });
    await runs.dispatch(new Date());
    expect(await db.task.findFirstOrThrow({ where: { sessionId: restore.sessionId } })).toMatchObject({ status: 'running' });
    // And now a second backup of the VM waits for the restore.
    await runs.closeFinished(new Date());
    const again = await runs.startBackup({ jobId: job.id, trigger: 'user', triggeredBy: 'test' });
    await runs.dispatch(new Date());
    expect(await db.task.findFirstOrThrow({ where: { sessionId: again.sessionId! } })).toMatchObject({
      status: 'pending',
      waitingFor: expect.stringMatching(/a restore of this VM is running/),
    });
  });

  it('an instant recovery action moves it out of running once, and announces itself to its mover', async () => {
    const e = await estate();
    const runs = new Runs(db);
    const r = await runs.startRestore({ request: { kind: 'instant', pointId: e.point.id, name: 'ir-1', connectionId: e.connectionId }, triggeredBy: 'test' });
    expect(r.started).toBe(true);
    if (!r.started) return;
    const recoveries = new InstantRecoveries(db);
    const row = await recoveries.create({
      sessionId: r.sessionId,
      moverId: e.near.id,
      connectionId: e.connectionId,
      pointId: e.point.id,
      vmName: 'ir-1',
      scratchDir: '/tmp/x',
    });
    // The name is taken while the recovery lives.
    const clash = await runs.startRestore({
      request: { kind: 'instant', pointId: e.point.id, name: 'ir-1', connectionId: e.connectionId },
      triggeredBy: 'test',
    });
    expect(clash).toMatchObject({ started: false, refusal: { field: 'name', status: 409 } });
    expect(await recoveries.requestAction(row.id, 'stop', 'test')).toMatchObject({ ok: false, status: 409 });
    expect(await recoveries.update(row.id, ['starting'], { state: 'running' })).toBe(true);
    expect(await recoveries.requestAction(row.id, 'migrate', 'test', { pool: 'nope', format: 'qcow2' })).toMatchObject({ ok: false, status: 404 });
    const [a, b] = await Promise.all([recoveries.requestAction(row.id, 'stop', 'test'), recoveries.requestAction(row.id, 'stop', 'test')]);
    expect([a.ok, b.ok].sort()).toEqual([false, true]);
    expect(await db.outboxMessage.count({ where: { name: 'instant.action', queue: `mover-${e.near.id}` } })).toBe(1);
    expect((await recoveries.get(row.id))?.state).toBe('stopping');
  });
});
