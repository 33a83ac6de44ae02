import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PrismaClient } from '@strongbox/db';
import { CONTROLLER_QUEUE, consume, Queues } from '@strongbox/queue';
import { LeaderLease } from '../leader-lease.js';
import { rescanConnection, type Connect } from './rescan.js';

/** Inventory is re-read this often, and on demand. */
export const RESCAN_EVERY_MS = 4 * 60 * 60 * 1000;
const TICK_MS = 60_000;

/**
 * The backup service: consumes the controller queue, and while it holds the leader lease
 * runs the periodic duties. Standby controllers consume too (work is in the queue), but
 * only the leader schedules.
 */
export class Controller {
  private readonly lease: LeaderLease;
  private readonly queues: Queues;
  private worker: Worker | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: PrismaClient,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
    private readonly connect?: Connect,
  ) {
    this.queues = new Queues(redis, prefix);
    this.lease = new LeaderLease(redis, `${prefix}:controller:leader`, 15_000, (leading) =>
      log.info(leading ? 'controller active (leader lease taken)' : 'controller on standby'),
    );
  }

  start(): void {
    this.worker = consume(this.redis, this.prefix, CONTROLLER_QUEUE, {
      'inventory.rescan': async ({ connectionId }) => {
        const result = await rescanConnection(this.db, connectionId, this.connect);
        this.log.info({ connectionId, vms: result.vms }, 'inventory rescanned');
        return result;
      },
    });
    this.worker.on('failed', (job, error) => this.log.warn({ job: job?.name, err: error.message }, 'controller job failed'));
    this.lease.start((error) => this.log.error({ err: error }, 'leader lease'));
    const loop = () => {
      const run = this.lease.isLeader ? this.tick(new Date()) : Promise.resolve();
      run
        .catch((error: unknown) => this.log.error({ err: error }, 'controller tick failed'))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(loop, TICK_MS);
        });
    };
    this.timer = setTimeout(loop, 1_000);
  }

  /** The leader's periodic duties at `now` (injected so that tests need not wait). */
  async tick(now: Date): Promise<void> {
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
