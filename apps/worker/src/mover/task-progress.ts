import type { Logger } from 'pino';
import { addSample, type Sample } from '@strongbox/core';
import type { PrismaClient } from '@strongbox/db';
import type { Progress, Throttle } from '@strongbox/pipeline';

/**
 * What a running disk task does every second besides moving data: writes its figures to
 * its row (the console's progress bars read them), notices a stop of its session, and
 * re-splits its repository's rate limit among the repository's running tasks.
 */
export class TaskProgress {
  private last = 0;
  /** Bytes read over time, for the session's throughput chart. */
  private history: Sample[] = [[Date.now(), 0]];
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: PrismaClient,
    private readonly taskId: string,
    private readonly sessionId: string,
    private readonly repositoryId: string,
    private readonly throttle: Throttle,
    private readonly stop: AbortController,
    private readonly log: Logger,
  ) {}

  /**
   * The repository's limit, read again each time (an administrator may change it during a
   * run), shared equally by its running VMs (each VM is one slot).
   */
  async splitRate(): Promise<void> {
    const { writeRateLimit } = await this.db.repository.findUniqueOrThrow({ where: { id: this.repositoryId }, select: { writeRateLimit: true } });
    let rate: number | null = null;
    if (writeRateLimit !== null) {
      const running = await this.db.task.findMany({
        where: { status: 'running', session: { job: { repositoryId: this.repositoryId } } },
        distinct: ['sessionId', 'vmId'],
        select: { id: true },
      });
      rate = Number(writeRateLimit) / Math.max(1, running.length);
    }
    this.throttle.setRate(rate);
  }

  /** Called by the pipeline at most every second; the writes are chained, never parallel. */
  report = (p: Progress): void => {
    this.last = Date.now();
    // A lost progress write must not fail the backup: the next second writes newer figures.
    this.pending = this.pending
      .then(() => this.write(p))
      .catch((error: unknown) => this.log.warn({ err: error, taskId: this.taskId }, 'progress not recorded'));
  };

  private async write(p: Progress): Promise<void> {
    const eta = p.rate > 0 ? Math.max(0, Math.round((p.totalBytes - p.bytesRead) / p.rate)) : null;
    this.history = addSample(this.history, [this.last, Math.round(p.bytesRead)]);
    await this.db.task.update({
      where: { id: this.taskId },
      data: {
        bytesRead: BigInt(Math.round(p.bytesRead)),
        bytesProcessed: BigInt(Math.round(p.bytesProcessed)),
        bytesTransferred: BigInt(Math.round(p.bytesTransferred)),
        bytesWritten: BigInt(Math.round(p.bytesWritten)),
        progress: {
          totalBytes: p.totalBytes,
          rate: p.rate,
          etaSeconds: eta,
          busy: p.busy,
          bottleneck: p.bottleneck,
          throttledMs: p.throttledMs,
          history: this.history,
        },
        lastProgressAt: new Date(this.last),
      },
    });
    const session = await this.db.session.findUnique({ where: { id: this.sessionId }, select: { stopRequested: true } });
    if (session?.stopRequested) this.stop.abort(new Error('stopped by a user'));
    await this.splitRate();
  }

  /** The last write, before the task's final status goes over it. */
  flush(): Promise<void> {
    return this.pending;
  }
}
