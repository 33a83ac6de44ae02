import { availableParallelism, hostname } from 'node:os';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { MoverRepository, type PrismaClient } from '@strongbox/db';
import { consume, moverQueue } from '@strongbox/queue';
import { runVm, type MoverContext } from './run-vm.js';

export const HEARTBEAT_MS = 10_000;

export type MoverOptions = {
  name: string;
  site: string;
  maxConcurrentTasks?: number | undefined;
  softwareVersion: string;
  workDir?: string | undefined;
  connect?: MoverContext['connect'];
};

/**
 * The data mover role: registers itself, heartbeats, and runs the VMs the controller puts
 * in its own queue, as many at once as its task limit. Stopping aborts what runs (each VM
 * releases its view and its unfinished point) so the controller can give it to another.
 */
export class MoverRole {
  private timer: NodeJS.Timeout | undefined;
  private worker: Worker | undefined;
  private readonly shutdown = new AbortController();
  id: string | undefined;

  constructor(
    private readonly db: PrismaClient,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly options: MoverOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const cores = availableParallelism();
    const movers = new MoverRepository(this.db);
    const row = await movers.register({
      name: this.options.name,
      hostName: hostname(),
      site: this.options.site,
      cores,
      maxConcurrentTasks: this.options.maxConcurrentTasks ?? cores,
      softwareVersion: this.options.softwareVersion,
    });
    this.id = row.id;
    this.log.info({ moverId: row.id, name: row.name, maxConcurrentTasks: row.maxConcurrentTasks }, 'mover registered');
    this.timer = setInterval(() => {
      movers.heartbeat(row.id).catch((error: unknown) => this.log.error({ err: error }, 'heartbeat failed'));
    }, HEARTBEAT_MS);
    const ctx: MoverContext = { db: this.db, moverId: row.id, log: this.log, workDir: this.options.workDir, connect: this.options.connect };
    this.worker = consume(
      this.redis,
      this.prefix,
      moverQueue(row.id),
      { 'task.run': (payload) => runVm(ctx, payload, this.shutdown.signal) },
      // The controller grants no more than the mover's limit, which an administrator may
      // change while it runs; the worker itself must not be the narrower bound.
      { concurrency: 64 },
    );
    this.worker.on('failed', (job, error) => this.log.error({ job: job?.id, err: error.message }, 'mover task failed'));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.shutdown.abort();
    await this.worker?.close();
  }
}
