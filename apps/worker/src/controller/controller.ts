import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PrismaClient } from '@strongbox/db';
import { CONTROLLER_QUEUE, consume, Queues } from '@strongbox/queue';
import { LeaderLease } from '../leader-lease.js';
import { closeRuns, reclaimFromDeadMovers } from './close-runs.js';
import { dispatch } from './dispatch.js';
import { maintainRepository } from './maintenance.js';
import { notifySession } from './notify.js';
import { rescanConnection, type Connect } from './rescan.js';
import { dueVerifies, fireSchedules } from './schedules.js';
import { startRun } from './start-run.js';

/** Inventory is re-read this often, and on demand. */
export const RESCAN_EVERY_MS = 4 * 60 * 60 * 1000;
/** The resource scheduler's round: how soon a freed slot is given to a waiting VM. */
const TICK_MS = 2_000;

export type ControllerOptions = { connect?: Connect; publicUrl?: string; tickMs?: number; clock?: () => Date };

/**
 * The backup service: consumes the controller queue, and while it holds the leader lease
 * runs the periodic duties. Standby controllers consume too (work is in the queue), but
 * only the leader schedules and dispatches. Its state is all in PostgreSQL, so a
 * controller that restarts, or a standby that takes over, carries on the runs in progress.
 */
export class Controller {
  private readonly lease: LeaderLease;
  readonly queues: Queues;
  private worker: Worker | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly clock: () => Date;

  constructor(
    private readonly db: PrismaClient,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
    private readonly options: ControllerOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.queues = new Queues(redis, prefix);
    this.lease = new LeaderLease(redis, `${prefix}:controller:leader`, 15_000, (leading) =>
      log.info(leading ? 'controller active (leader lease taken)' : 'controller on standby'),
    );
  }

  start(): void {
    this.worker = consume(
      this.redis,
      this.prefix,
      CONTROLLER_QUEUE,
      {
        'inventory.rescan': async ({ connectionId }) => {
          const result = await rescanConnection(this.db, connectionId, this.options.connect);
          this.log.info({ connectionId, vms: result.vms }, 'inventory rescanned');
          return result;
        },
        'job.run': async (payload) => {
          const result = await startRun(this.db, payload);
          this.log.info({ jobId: payload.jobId, ...result }, result.sessionId ? 'job run started' : 'job run not started');
          if (result.sessionId && this.lease.isLeader) await dispatch(this.db, this.queues, this.clock());
          return result;
        },
        'repository.maintain': ({ repositoryId, kind }) => maintainRepository(this.db, this.queues, repositoryId, kind, this.clock(), this.log),
        'session.notify': ({ sessionId }) => notifySession(this.db, sessionId, this.options.publicUrl ?? 'http://localhost:3000'),
      },
      // Maintenance can take hours; rescans and starts must not wait behind it.
      { concurrency: 4 },
    );
    this.worker.on('failed', (job, error) => this.log.warn({ job: job?.name, err: error.message }, 'controller job failed'));
    this.lease.start((error) => this.log.error({ err: error }, 'leader lease'));
    const loop = () => {
      const run = this.lease.isLeader ? this.tick(this.clock()) : Promise.resolve();
      run
        .catch((error: unknown) => this.log.error({ err: error }, 'controller tick failed'))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(loop, this.options.tickMs ?? TICK_MS);
        });
    };
    this.timer = setTimeout(loop, 500);
  }

  /** The leader's periodic duties at `now` (injected so that tests need not wait). */
  async tick(now: Date): Promise<void> {
    await reclaimFromDeadMovers(this.db, now);
    await closeRuns(this.db, this.queues, now);
    await dispatch(this.db, this.queues, now);
    await fireSchedules(this.db, this.queues, now);
    await dueVerifies(this.db, this.queues, now);
    await this.dueRescans(now);
  }

  private async dueRescans(now: Date): Promise<void> {
    const due = await this.db.hypervisorConnection.findMany({
      where: { OR: [{ lastRescanAt: null }, { lastRescanAt: { lt: new Date(now.getTime() - RESCAN_EVERY_MS) } }] },
      select: { id: true },
    });
    const bucket = Math.floor(now.getTime() / RESCAN_EVERY_MS);
    for (const { id } of due) {
      // One rescan per connection per period, however many controllers or ticks ask.
      await this.queues.add('inventory.rescan', { connectionId: id }, { jobId: `rescan-${id}-${bucket}` });
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.worker?.close();
    await this.lease.stop();
    await this.queues.close();
  }
}
