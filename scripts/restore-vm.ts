/**
 * pnpm restore:vm <vm name> --name <new name> --pool <storage pool> [--point <ISO time|point id>] [--connection <name>] [--format qcow2|raw] [--disconnected] [--start]
 *
 * A developer command, a thin caller of the restore the console and the API start
 * (`Runs.startRestore`): a point of a VM (the newest unless --point) restored as a new VM
 * into a storage pool of a connection, by the movers of a running Strongbox (`npm start`,
 * DATABASE_URL of its database). Prints the session's log as it goes and exits non-zero
 * unless it ends in success.
 */
import { parseArgs } from 'node:util';
import { parseEnv } from '@strongbox/config';
import { messageOf } from '@strongbox/core';
import { createPrismaClient, Runs } from '@strongbox/db';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: 'string' },
    pool: { type: 'string' },
    point: { type: 'string' },
    connection: { type: 'string' },
    format: { type: 'string', default: 'qcow2' },
    disconnected: { type: 'boolean', default: false },
    start: { type: 'boolean', default: false },
  },
});

async function main(): Promise<void> {
  const vm = positionals[0];
  if (!vm || !values.name || !values.pool)
    throw new Error(
      'usage: pnpm restore:vm <vm> --name <new name> --pool <pool> [--point <time|id>] [--connection <name>] [--format qcow2|raw] [--disconnected] [--start]',
    );
  const db = createPrismaClient(parseEnv(process.env).DATABASE_URL);
  try {
    const points = await db.restorePoint.findMany({
      where: { vmName: vm },
      orderBy: { time: 'desc' },
      select: { id: true, time: true, kind: true, vm: { select: { connectionId: true } } },
    });
    const point = values.point ? points.find((p) => p.id === values.point || p.time.toISOString() === values.point) : points[0];
    if (!point) throw new Error(`no restore point of ${vm}${values.point ? ` at ${values.point}` : ''} in the catalog`);
    const connection = values.connection
      ? await db.hypervisorConnection.findUnique({ where: { name: values.connection }, select: { id: true } })
      : point.vm
        ? { id: point.vm.connectionId }
        : await db.hypervisorConnection.findFirst({ orderBy: { name: 'asc' }, select: { id: true } });
    if (!connection) throw new Error(values.connection ? `no connection ${values.connection}` : 'no hypervisor connection: add one first');
    const started = await new Runs(db).startRestore({
      request: {
        kind: 'vm-new',
        pointId: point.id,
        name: values.name,
        connectionId: connection.id,
        pool: values.pool,
        format: values.format,
        networks: values.disconnected ? 'disconnected' : 'connected',
        powerOn: values.start,
      },
      triggeredBy: 'restore:vm',
    });
    if (!started.started) throw new Error(`${started.refusal.field}: ${started.refusal.message}`);
    console.log(`restore of the ${point.kind} point of ${point.time.toISOString()} started: session ${started.sessionId}`);
    let after = 0n;
    for (;;) {
      const logs = await db.sessionLog.findMany({ where: { sessionId: started.sessionId, id: { gt: after } }, orderBy: { id: 'asc' } });
      for (const l of logs) console.log(`${l.time.toISOString()} ${l.level.padEnd(7)} ${l.message}`);
      after = logs.at(-1)?.id ?? after;
      const session = await db.session.findUniqueOrThrow({ where: { id: started.sessionId }, select: { status: true, endedAt: true } });
      if (session.endedAt) {
        if (session.status !== 'success') throw new Error(`the restore ended ${session.status}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await db.$disconnect();
  }
}

main().catch((e: unknown) => {
  console.error(`restore:vm: ${messageOf(e)}`);
  process.exit(1);
});
