import { availableParallelism, hostname } from 'node:os';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BackupRepositories, Movers, Runs, type PrismaClient } from '@strongbox/db';
import { consume, moverQueue } from '@strongbox/queue';
import { Repository } from '@strongbox/repository';
import { startFileService, type FileService } from './file-service.js';
import { closeInstantServers, instantAction, resumeInstantRecoveries } from './instant.js';
import { runMaintenance } from './maintain.js';
import type { MoverContext } from './mover-context.js';
import { closeAllMounts, closeMount, openMount, settleMounts, sweepMounts } from './mounts.js';
import { runRestore } from './run-restore.js';
import { runVm } from './run-vm.js';
import { settlePreviousLife } from './settle.js';

export const HEARTBEAT_MS = 10_000;
/** How often a mover looks again for the repository stores it can see (mounts come and go). */
export const LOOK_FOR_STORES_MS = 60_000;
/** How often a mover ends its guest-file mounts that went idle. */
export const SWEEP_MOUNTS_MS = 5_000;

export type MoverOptions = {
  name: string;
  site: string;
  maxConcurrentTasks?: number | undefined;
  softwareVersion: string;
  workDir?: string | undefined;
  connect?: MoverContext['connect'];
  failpoint?: MoverContext['failpoint'];
  /** The guest-file service: where it listens (host:port) and, when it differs, where the web reaches it. */
  fileService?: { listen: string; url?: string | undefined };
};

/**
 * The data mover role: registers itself, settles what its previous life left (it keeps its
 * id across restarts), heartbeats, tells which repository stores it sees, and runs the
 * units the controller puts in its own queue — VMs to back up and restores, as many
 * at once as its task limit; maintenance of the stores it sees; actions on the instant
 * recoveries it serves; guest-file mounts, browsed through its file service. Stopping aborts what runs
 * (each VM releases its view and its unfinished point) so that the controller can give it
 * to another mover.
 */
export class MoverRole {
  private timers: NodeJS.Timeout[] = [];
  private worker: Worker | undefined;
  private fileService: FileService | undefined;
  private ctx: MoverContext | undefined;
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
    const movers = new Movers(this.db);
    const row = await movers.register({
      name: this.options.name,
      hostName: hostname(),
      site: this.options.site,
      cores,
      maxConcurrentTasks: this.options.maxConcurrentTasks ?? cores,
      softwareVersion: this.options.softwareVersion,
    });
    const id = row.id;
    this.id = id;
    this.log.info({ moverId: id, name: row.name, maxConcurrentTasks: row.maxConcurrentTasks }, 'mover registered');
    await this.lookForStores(id);
    this.timers = [
      setInterval(() => movers.heartbeat(id).catch((error: unknown) => this.log.error({ err: error }, 'heartbeat failed')), HEARTBEAT_MS),
      setInterval(
        () => this.lookForStores(id).catch((error: unknown) => this.log.error({ err: error }, 'looking for repository stores failed')),
        LOOK_FOR_STORES_MS,
      ),
    ];
    const ctx: MoverContext = {
      db: this.db,
      runs: new Runs(this.db),
      moverId: id,
      log: this.log,
      workDir: this.options.workDir,
      connect: this.options.connect,
      failpoint: this.options.failpoint,
    };
    this.ctx = ctx;
    await settlePreviousLife(ctx, { id, name: row.name });
    await resumeInstantRecoveries(ctx);
    await settleMounts(ctx);
    this.fileService = await startFileService(this.options.fileService);
    await movers.fileServiceAt(id, this.fileService.url);
    this.timers.push(
      setInterval(() => sweepMounts(ctx).catch((error: unknown) => this.log.error({ err: error }, 'ending idle guest-file mounts failed')), SWEEP_MOUNTS_MS),
    );
    this.worker = consume(
      this.redis,
      this.prefix,
      moverQueue(id),
      {
        'vm.run': (payload, { signal }) => runVm(ctx, payload, signal),
        'maintenance.run': (payload, { signal }) => runMaintenance(ctx, payload, signal),
        'restore.run': (payload, { signal }) => runRestore(ctx, payload, signal),
        'instant.action': (payload) => instantAction(ctx, payload),
        'mount.open': (payload, { signal }) => openMount(ctx, payload, signal),
        'mount.close': (payload) => closeMount(ctx, payload),
      },
      // The controller grants no more VMs than the mover's limit, which an administrator may
      // change while it runs; the worker itself must not be the narrower bound.
      { concurrency: 64, shutdown: this.shutdown.signal },
    );
    this.worker.on('failed', (job, error) => this.log.error({ job: job?.id, err: error.message }, 'mover unit failed'));
  }

  /** The repositories whose store (strongbox.json) is at their path here. */
  private async lookForStores(id: string): Promise<void> {
    const repositories = await new BackupRepositories(this.db).list();
    const seen: string[] = [];
    for (const r of repositories) {
      if (await Repository.existsAt(r.path)) seen.push(r.id);
    }
    await new Movers(this.db).seesRepositories(id, seen);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.shutdown.abort(new Error('the mover is shutting down'));
    await this.worker?.close();
    await closeInstantServers();
    if (this.ctx) await closeAllMounts(this.ctx);
    await new Promise<void>((resolve) => (this.fileService ? this.fileService.server.close(() => resolve()) : resolve()));
    this.fileService?.server.closeAllConnections();
  }
}
