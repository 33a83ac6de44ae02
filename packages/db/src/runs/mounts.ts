import { randomBytes, randomUUID } from 'node:crypto';
import { sessionRules, type MountSummary, type SessionId } from '@strongbox/core';
import { moverQueue } from '@strongbox/queue/catalog';
import { z } from 'zod';
import { inTransaction, type Db } from '../client.js';
import type { Prisma } from '../generated/client.js';
import { MOVER_OFFLINE_AFTER_MS } from '../movers.js';
import { applySessionChange } from './apply.js';
import { Outbox } from './outbox.js';
import { writeLog } from './read.js';

/**
 * A guest-file mount's life. `starting` while its mover serves the point and boots the
 * appliance; `ready` while its user browses; `stopping` once ended, until the mover has
 * removed the appliance, the export and its scratch folder; then `stopped`. `failed` when it
 * could not start (the error says why). Its session (kind `mount`) is running from the
 * start and closes when the mount ends: success when it was used and ended, failed when it
 * could not start, interrupted when its mover went away under it.
 */
export const MOUNT_STATES = ['starting', 'ready', 'stopping', 'stopped', 'failed'] as const;
export type MountState = (typeof MOUNT_STATES)[number];
/** States in which an appliance, an export or a scratch folder may exist on the mover. */
export const MOUNT_LIVE: readonly MountState[] = ['starting', 'ready', 'stopping'];
/** Without use for this long, a mount ends (STRONGBOX_MOUNT_IDLE_MS, in packages/config, changes it). */
export const MOUNT_IDLE_MS = 30 * 60 * 1000;
/** One user keeps at most this many mounts at once: each is a VM of its own on the mover. */
export const MOUNTS_PER_USER = 3;

export const guestMountFsSchema = z.object({
  key: z.string(),
  device: z.string(),
  type: z.string(),
  label: z.string().nullable(),
  /** The file system's UUID: how a file restore finds where the running guest mounts it (recorded since file restore). */
  uuid: z.string().nullable().default(null),
  sizeBytes: z.number(),
  mountable: z.boolean(),
});
export type GuestMountFs = z.infer<typeof guestMountFsSchema>;
const filesystemsSchema = z.array(guestMountFsSchema);

const select = {
  id: true,
  sessionId: true,
  ownerId: true,
  pointId: true,
  vmId: true,
  vmName: true,
  pointTime: true,
  moverId: true,
  state: true,
  error: true,
  endReason: true,
  scratchDir: true,
  filesystems: true,
  token: true,
  idleTimeoutMs: true,
  startedAt: true,
  readyAt: true,
  lastUsedAt: true,
  endedAt: true,
  mover: { select: { fileServiceUrl: true, name: true } },
} as const;

type Row = Prisma.GuestMountGetPayload<{ select: typeof select }>;
const read = (r: Row) => {
  const { mover, ...rest } = r;
  return {
    ...rest,
    state: r.state as MountState,
    filesystems: filesystemsSchema.parse(r.filesystems),
    serviceUrl: mover?.fileServiceUrl ?? null,
    moverName: mover?.name ?? null,
  };
};
export type GuestMountRow = ReturnType<typeof read>;

export type MountStartResult = { ok: true; mount: GuestMountRow } | { ok: false; status: 404 | 409 | 503; message: string };
export type MountEndResult = { ok: true } | { ok: false; status: 404 | 409; message: string };

async function findMount(db: Db, id: string): Promise<GuestMountRow | null> {
  const row = await db.guestMount.findUnique({ where: { id }, select });
  return row ? read(row) : null;
}

/**
 * Guest-file mounts, part of the run module: their sessions open and close here, with the
 * mount's state in every WHERE. The web starts, reads and ends them for their owner; the
 * mover holding one records what it found and how it ended; the controller ends those of a
 * mover that went silent (that mover's next start removes what it left).
 */
export class GuestMounts {
  constructor(private readonly db: Db) {}

  /** Opens a point for browsing by `ownerId`, on an online mover that sees the point's repository. */
  async start(input: { pointId: string; ownerId: string; by: string; idleTimeoutMs?: number }): Promise<MountStartResult> {
    const made = await inTransaction(this.db, 'mounts.start', async (tx): Promise<MountStartResult | { ok: true; id: string }> => {
      const point = await tx.restorePoint.findUnique({
        where: { id: input.pointId },
        select: { id: true, vmId: true, vmName: true, time: true, repositoryId: true, repository: { select: { name: true } } },
      });
      if (!point) return { ok: false, status: 404, message: 'no such restore point' };
      const live = await tx.guestMount.count({ where: { ownerId: input.ownerId, state: { in: [...MOUNT_LIVE] } } });
      if (live >= MOUNTS_PER_USER)
        return { ok: false, status: 409, message: `you have ${live} file browsers open: end one first (at most ${MOUNTS_PER_USER} at once)` };
      const since = new Date(Date.now() - MOVER_OFFLINE_AFTER_MS);
      const movers = await tx.mover.findMany({
        where: { enabled: true, lastHeartbeatAt: { gte: since }, fileServiceUrl: { not: null }, repositoryIds: { has: point.repositoryId } },
        select: { id: true, name: true, _count: { select: { guestMounts: { where: { state: { in: [...MOUNT_LIVE] } } } } } },
      });
      if (movers.length === 0)
        return { ok: false, status: 503, message: `no online mover sees repository ${point.repository.name}: start one that has its store` };
      // The mover with the fewest mounts: each is an appliance (a small VM) on its host.
      const mover = movers.sort((a, b) => a._count.guestMounts - b._count.guestMounts || a.name.localeCompare(b.name))[0]!;
      const sessionId = randomUUID();
      await tx.session.create({
        data: {
          id: sessionId,
          kind: 'mount',
          repositoryId: point.repositoryId,
          name: `Guest files: ${point.vmName} (${point.time.toISOString().slice(0, 16).replace('T', ' ')})`,
          triggeredBy: input.by,
          status: 'running',
        },
      });
      const mount = await tx.guestMount.create({
        data: {
          sessionId,
          ownerId: input.ownerId,
          pointId: point.id,
          vmId: point.vmId,
          vmName: point.vmName,
          pointTime: point.time,
          moverId: mover.id,
          state: 'starting',
          token: randomBytes(32).toString('base64url'),
          idleTimeoutMs: input.idleTimeoutMs ?? MOUNT_IDLE_MS,
        },
        select: { id: true },
      });
      await writeLog(tx, sessionId, 'info', `opened by ${input.by} for browsing, on mover ${mover.name}`);
      await new Outbox(tx).put('mount.open', { mountId: mount.id }, { queue: moverQueue(mover.id), jobId: `mount-${mount.id}-open` });
      return { ok: true, id: mount.id };
    });
    if (!made.ok || !('id' in made)) return made as MountStartResult;
    return { ok: true, mount: (await findMount(this.db, made.id))! };
  }

  get = (id: string) => findMount(this.db, id);

  async ofOwner(ownerId: string, filter: { live?: boolean } = {}): Promise<GuestMountRow[]> {
    const rows = await this.db.guestMount.findMany({
      where: { ownerId, ...(filter.live ? { state: { in: [...MOUNT_LIVE] } } : {}) },
      orderBy: { startedAt: 'desc' },
      take: 50,
      select,
    });
    return rows.map((r) => read(r));
  }

  /** The user ends it: `stopping`, and its mover told in the same transaction. */
  async requestEnd(id: string, by: string): Promise<MountEndResult> {
    return inTransaction(this.db, 'mounts.end', async (tx) => {
      const row = await tx.guestMount.findUnique({ where: { id }, select: { state: true, moverId: true } });
      if (!row) return { ok: false, status: 404, message: 'no such mount' };
      const changed = await tx.guestMount.updateMany({
        where: { id, state: { in: ['starting', 'ready'] } },
        data: { state: 'stopping', endReason: `ended by ${by}` },
      });
      if (changed.count === 0) return { ok: false, status: 409, message: `it is ${row.state} already` };
      if (row.moverId) await new Outbox(tx).put('mount.close', { mountId: id, by }, { queue: moverQueue(row.moverId), jobId: `mount-${id}-close` });
      return { ok: true };
    });
  }

  // The mover's side.

  /** The mover's own mounts in `states`. */
  async ofMover(moverId: string, states: readonly MountState[] = MOUNT_LIVE): Promise<GuestMountRow[]> {
    return (await this.db.guestMount.findMany({ where: { moverId, state: { in: [...states] } }, select })).map((r) => read(r));
  }

  /** Where the mover keeps the mount's files: recorded before anything is made there, so that a janitor finds them. */
  async recordScratch(id: string, moverId: string, scratchDir: string): Promise<boolean> {
    const { count } = await this.db.guestMount.updateMany({ where: { id, moverId, state: 'starting' }, data: { scratchDir } });
    return count === 1;
  }

  async markReady(id: string, moverId: string, filesystems: GuestMountFs[], bootMs: number): Promise<boolean> {
    const now = new Date();
    const { count } = await this.db.guestMount.updateMany({
      where: { id, moverId, state: 'starting' },
      data: { state: 'ready', filesystems: filesystemsSchema.parse(filesystems), readyAt: now, lastUsedAt: now },
    });
    if (count === 1) {
      const mount = await this.db.guestMount.findUniqueOrThrow({ where: { id }, select: { sessionId: true } });
      const list = filesystems.map((f) => `${f.key} (${f.type}${f.label ? `, ${f.label}` : ''})`).join(', ') || 'none';
      await writeLog(this.db, mount.sessionId, 'info', `ready after ${(bootMs / 1000).toFixed(1)} s: file systems ${list}`);
    }
    return count === 1;
  }

  /** It was used now (the console's idle clock; the mover keeps its own and writes this now and then). */
  async touch(id: string, at: Date): Promise<void> {
    await this.db.guestMount.updateMany({ where: { id, state: 'ready' }, data: { lastUsedAt: at } });
  }

  /**
   * It ended on its mover (appliance, export and folder gone): the mount's final state and
   * its session's, each guarded, with one log line.
   */
  async finish(id: string, outcome: { state: 'stopped' | 'failed'; reason: string; error?: string | null; interrupted?: boolean }): Promise<boolean> {
    return inTransaction(this.db, 'mounts.finish', async (tx) => {
      const row = await tx.guestMount.findUnique({ where: { id }, select: { sessionId: true, endReason: true, startedAt: true } });
      if (!row) return false;
      const now = new Date();
      const reason = row.endReason ?? outcome.reason;
      const { count } = await tx.guestMount.updateMany({
        where: { id, state: { in: [...MOUNT_LIVE] } },
        data: { state: outcome.state, endReason: reason, error: outcome.error ?? null, endedAt: now },
      });
      if (count === 0) return false;
      const status = outcome.state === 'failed' ? 'failed' : outcome.interrupted ? 'interrupted' : 'success';
      const summary: MountSummary = {
        kind: 'mount',
        reason,
        ...(outcome.error ? { error: outcome.error } : {}),
        durationMs: now.getTime() - row.startedAt.getTime(),
      };
      await applySessionChange(tx, row.sessionId as SessionId, sessionRules.close(status, summary, now));
      await writeLog(tx, row.sessionId, outcome.state === 'failed' ? 'error' : 'info', outcome.error ? `${reason}: ${outcome.error}` : `ended: ${reason}`);
      return true;
    });
  }

  /**
   * The controller's round: the mounts of movers that went silent end here (nobody can use
   * them); what those movers left on their hosts is theirs to remove at their next start.
   */
  async endOnSilentMovers(now: Date): Promise<number> {
    const rows = await this.db.guestMount.findMany({
      where: {
        state: { in: [...MOUNT_LIVE] },
        OR: [{ moverId: null }, { mover: { lastHeartbeatAt: { lt: new Date(now.getTime() - MOVER_OFFLINE_AFTER_MS) } } }],
      },
      select: { id: true },
    });
    let ended = 0;
    for (const r of rows) if (await this.finish(r.id, { state: 'stopped', reason: 'its mover went silent', interrupted: true })) ended++;
    return ended;
  }
}
