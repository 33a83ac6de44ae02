import { availableParallelism, hostname } from 'node:os';
import type { Logger } from 'pino';
import { MoverRepository, type PrismaClient } from '@strongbox/db';

export const HEARTBEAT_MS = 10_000;

export type MoverOptions = {
  name: string;
  site: string;
  maxConcurrentTasks?: number | undefined;
  softwareVersion: string;
};

/** The data mover role: registers itself and heartbeats; tasks arrive with backup jobs. */
export class MoverRole {
  private timer: NodeJS.Timeout | undefined;
  id: string | undefined;

  constructor(
    private readonly db: PrismaClient,
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
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }
}
