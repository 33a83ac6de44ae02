import type { Logger } from 'pino';
import { addSample, type Sample } from '@strongbox/core';
import type { Runs, UnitHandle } from '@strongbox/db';
import type { Progress, Throttle } from '@strongbox/pipeline';

/**
 * What a running disk does every second besides moving data: records its figures (the
 * console's progress bars read them), notices a stop of its session or that its unit was
 * taken back, and re-splits its repository's rate limit among the units using it.
 */
export class DiskProgress {
  private last = 0;
  /** Bytes read over time, for the session's throughput chart. */
  private history: Sample[] = [[Date.now(), 0]];
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly runs: Runs,
    private readonly unit: UnitHandle,
    private readonly taskId: string,
    /** This unit's share of its repository's rate limit now (write for a backup, read for a restore). */
    private readonly share: () => Promise<number | null>,
    private readonly throttle: Throttle,
    private readonly stop: AbortController,
    private readonly log: Logger,
  ) {}

  async splitRate(): Promise<void> {
    this.throttle.setRate(await this.share());
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
    const { current, stopRequested } = await this.runs.mover.recordFigures(this.unit, this.taskId, {
      bytesRead: p.bytesRead,
      bytesProcessed: p.bytesProcessed,
      bytesTransferred: p.bytesTransferred,
      bytesWritten: p.bytesWritten,
      progress: {
        totalBytes: p.totalBytes,
        rate: p.rate,
        etaSeconds: eta,
        busy: p.busy,
        bottleneck: p.bottleneck,
        throttledMs: p.throttledMs,
        history: this.history,
      },
    });
    if (!current) this.stop.abort(new Error('the controller took this VM back from this mover'));
    else if (stopRequested) this.stop.abort(new Error('stopped by a user'));
    await this.splitRate();
  }

  /** The last write, before the unit's end goes over it. */
  flush(): Promise<void> {
    return this.pending;
  }
}
