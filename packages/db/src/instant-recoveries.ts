import { moverQueue } from '@strongbox/queue/catalog';
import { z } from 'zod';
import { inTransaction, type Db } from './client.js';
import type { Prisma } from './generated/client.js';
import { Outbox } from './runs/outbox.js';

/**
 * An instant recovery's life. `starting` while the mover makes overlays and starts the VM;
 * `running` while it serves the point; `migrating` while its disks are copied into a pool
 * (the VM keeps running), then `migrated`; `stopping` while the VM, overlays and export are
 * removed, then `stopped`; `broken` when its mover lost the export (the message says why
 * and what to do).
 */
export const INSTANT_STATES = ['starting', 'running', 'migrating', 'migrated', 'stopping', 'stopped', 'broken'] as const;
export type InstantState = (typeof INSTANT_STATES)[number];
/** States in which a VM, an overlay or an export may exist on the mover's host. */
export const INSTANT_LIVE: readonly InstantState[] = ['starting', 'running', 'migrating', 'stopping', 'broken'];

export const instantDisksSchema = z.array(z.object({ name: z.string(), exportName: z.string(), overlay: z.string(), size: z.number() }));
export type InstantDisks = z.infer<typeof instantDisksSchema>;

const select = {
  id: true,
  sessionId: true,
  moverId: true,
  connectionId: true,
  pointId: true,
  vmName: true,
  state: true,
  error: true,
  scratchDir: true,
  disks: true,
  bytesServed: true,
  overlayBytes: true,
  startedAt: true,
  runningAt: true,
  endedAt: true,
  updatedAt: true,
} as const;

type Row = Prisma.InstantRecoveryGetPayload<{ select: typeof select }>;
const read = (r: Row) => ({
  ...r,
  state: r.state as InstantState,
  disks: instantDisksSchema.parse(r.disks),
  bytesServed: Number(r.bytesServed),
  overlayBytes: Number(r.overlayBytes),
});
export type InstantRecoveryRow = ReturnType<typeof read>;

export type InstantActionResult = { ok: true } | { ok: false; status: 404 | 409; message: string };

/**
 * Instant recoveries as the console lists them and as the mover serving each records it.
 * An action moves the row out of `running` with its state in the WHERE, and announces
 * itself to the serving mover in the same transaction (the outbox): two clicks make one.
 */
export class InstantRecoveries {
  constructor(private readonly db: Db) {}

  async list(filter: { live?: boolean } = {}): Promise<InstantRecoveryRow[]> {
    const rows = await this.db.instantRecovery.findMany({
      where: filter.live ? { state: { in: [...INSTANT_LIVE] } } : {},
      orderBy: { startedAt: 'desc' },
      take: 200,
      select,
    });
    return rows.map(read);
  }

  async get(id: string): Promise<InstantRecoveryRow | null> {
    const row = await this.db.instantRecovery.findUnique({ where: { id }, select });
    return row ? read(row) : null;
  }

  /** The mover's records of its own. */
  async ofMover(moverId: string, states: readonly InstantState[] = INSTANT_LIVE): Promise<InstantRecoveryRow[]> {
    return (await this.db.instantRecovery.findMany({ where: { moverId, state: { in: [...states] } }, select })).map(read);
  }

  async create(input: { sessionId: string; moverId: string; connectionId: string; pointId: string | null; vmName: string; scratchDir: string }) {
    return read(await this.db.instantRecovery.create({ data: { ...input, state: 'starting' }, select }));
  }

  /** A change the mover makes; `from` guards it. Returns whether it applied. */
  async update(
    id: string,
    from: readonly InstantState[],
    data: { state?: InstantState; error?: string | null; disks?: InstantDisks; bytesServed?: number; overlayBytes?: number; runningAt?: Date; endedAt?: Date },
  ): Promise<boolean> {
    const { bytesServed, overlayBytes, ...rest } = data;
    const changed = await this.db.instantRecovery.updateMany({
      where: { id, state: { in: [...from] } },
      data: {
        ...rest,
        ...(bytesServed === undefined ? {} : { bytesServed: BigInt(Math.round(bytesServed)) }),
        ...(overlayBytes === undefined ? {} : { overlayBytes: BigInt(Math.round(overlayBytes)) }),
      },
    });
    return changed.count === 1;
  }

  /**
   * Migrate to production (the disks copied into `pool` while the VM runs, then the export
   * ends) or stop publishing (the VM, its overlays and the export removed). Only a running
   * recovery takes an action; a broken one may still be stopped (its leftovers removed).
   */
  async requestAction(id: string, action: 'migrate' | 'stop', by: string, target?: { pool: string; format: 'qcow2' | 'raw' }): Promise<InstantActionResult> {
    return inTransaction(this.db, 'instant.action', async (tx) => {
      const row = await tx.instantRecovery.findUnique({ where: { id }, select: { state: true, moverId: true, connectionId: true } });
      if (!row) return { ok: false, status: 404, message: 'no such instant recovery' };
      if (!row.moverId) return { ok: false, status: 409, message: 'its mover is gone' };
      if (action === 'migrate') {
        if (!target) return { ok: false, status: 409, message: 'choose a storage pool to migrate to' };
        const pool = await tx.storagePool.findUnique({
          where: { connectionId_name: { connectionId: row.connectionId, name: target.pool } },
          select: { id: true },
        });
        if (!pool) return { ok: false, status: 404, message: `no storage pool ${target.pool} on this connection` };
      }
      const from: InstantState[] = action === 'stop' ? ['running', 'broken'] : ['running'];
      const changed = await tx.instantRecovery.updateMany({
        where: { id, state: { in: from } },
        data: { state: action === 'stop' ? 'stopping' : 'migrating', error: null },
      });
      if (changed.count === 0)
        return { ok: false, status: 409, message: `it is ${row.state}: ${action === 'stop' ? 'stop publishing' : 'migrate'} needs a running recovery` };
      await new Outbox(tx).put(
        'instant.action',
        { instantId: id, action, by, ...(target ? { pool: target.pool, format: target.format } : {}) },
        { queue: moverQueue(row.moverId), jobId: `instant-${id}-${action}` },
      );
      return { ok: true };
    });
  }
}
