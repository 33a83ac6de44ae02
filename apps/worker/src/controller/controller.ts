import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Runs, type PrismaClient } from '@strongbox/db';
import { consume, INVENTORY_QUEUE, NOTIFY_QUEUE, onRunsWake, Queues } from '@strongbox/queue';
import { LeaderLease } from '../leader-lease.js';
import { notifySession } from './notify.js';
import { rescanConnection, type Connect } from './rescan.js';
import { dueGcs, dueRescans, dueVerifies, fireSchedules } from './schedules.js';

/** The resource scheduler's round: how soon a freed slot is given to a waiting VM. */
const TICK_MS = 2_000;

export type ControllerOptions = {
  connect?: Connect;
  publicUrl?: string;
  tickMs?: number;
  clock?: () => Date;
  /** How long a unit may give no sign of life before it is taken back (tests shorten it). */
  stalledAfterMs?: number;
};

/**
 * The backup service. Every controller consumes its queues (rescans, email: work is in
 * the queue); only the one holding the leader lease runs the round — dead movers, stalled units, closes,
 * the resource scheduler, the outbox, schedules. Its state is all in PostgreSQL, so a
 * controller that restarts, or a standby that takes over, carries on the runs in progress.
 */
export class Controller {
  private readonly lease: LeaderLease;
  readonly queues: Queues;
  private readonly runs: Runs;
  private workers: Worker[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopWake: (() => Promise<void>) | undefined;
  private round: Promise<void> | null = null;
  private again = false;
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
    this.runs = new Runs(db);
    this.lease = new LeaderLease(redis, `${prefix}:controller:leader`, 15_000, (leading) =>
      log.info(leading ? 'controller active (leader lease taken)' : 'controller on standby'),
    );
  }

  async start(): Promise<void> {
    // One worker per queue: a slow hypervisor's rescan never delays an email, and neither waits for the other.
    this.workers = [
      consume(
        this.redis,
        this.prefix,
        INVENTORY_QUEUE,
        {
          'inventory.rescan': async ({ connectionId }) => {
            const result = await rescanConnection(this.db, connectionId, this.options.connect);
            this.log.info({ connectionId, vms: result.vms }, 'inventory rescanned');
            return result;
          },
        },
        { concurrency: 4 },
      ),
      consume(
        this.redis,
        this.prefix,
        NOTIFY_QUEUE,
        { 'session.notify': ({ sessionId }) => notifySession(this.db, sessionId, this.options.publicUrl ?? 'http://localhost:3000') },
        { concurrency: 4 },
      ),
    ];
    for (const worker of this.workers) worker.on('failed', (job, error) => this.log.warn({ job: job?.name, err: error.message }, 'controller job failed'));
    this.lease.start((error) => this.log.error({ err: error }, 'leader lease'));
    this.stopWake = onRunsWake(
      this.redis,
      this.prefix,
      () => void this.nudge(),
      (error) => this.log.warn({ err: error }, 'no nudges from the web until Redis answers; the tick runs the rounds'),
    );
    const loop = () => {
      void this.nudge().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(loop, this.options.tickMs ?? TICK_MS);
      });
    };
    this.timer = setTimeout(loop, 500);
  }

  /**
   * A round now, if this controller leads: at each tick, and when a start made elsewhere
   * nudges it. One at a time here (and one at a time across controllers: the dispatch
   * holds a database lock); a nudge during a round runs another right after it. A round
   * that fails is logged and the next tick tries again.
   */
  private nudge(): Promise<void> {
    if (!this.lease.isLeader) return Promise.resolve();
    if (this.round) {
      this.again = true;
      return this.round;
    }
    this.round = (async () => {
      do {
        this.again = false;
        await this.tick(this.clock()).catch((error: unknown) => this.log.error({ err: error }, 'controller round failed'));
      } while (this.again);
      this.round = null;
    })();
    return this.round;
  }

  /** The leader's duties at `now` (injected so that tests need not wait). Starts first, so that they are dispatched in the same round. */
  async tick(now: Date): Promise<void> {
    await fireSchedules(this.db, now, this.log);
    await dueVerifies(this.db, now);
    await dueGcs(this.db, now);
    await this.runs.reclaimFromDeadMovers(now);
    await this.runs.reclaimStalled(now, this.options.stalledAfterMs);
    await this.runs.endSilentMounts(now);
    await this.runs.closeFinished(now);
    await this.runs.dispatch(now);
    await this.runs.relay((message) => this.queues.send(message));
    await dueRescans(this.db, this.queues, now);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const stopWake = this.stopWake;
    this.stopWake = undefined;
    await stopWake?.();
    await this.round;
    await Promise.all(this.workers.map((w) => w.close()));
    await this.lease.stop();
    await this.queues.close();
  }
}
