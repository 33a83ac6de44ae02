export type Stage = 'source' | 'proxy' | 'network' | 'target';

export type Progress = {
  bytesRead: number;
  bytesProcessed: number;
  bytesTransferred: number;
  bytesWritten: number;
  /** Bytes the run will read. */
  totalBytes: number;
  /** Bytes/s read, over the last few seconds. */
  rate: number;
  throttledMs: number;
  /** Fractions 0..1 of the run each stage spent working. */
  busy: Record<Stage, number>;
  bottleneck: Stage | 'throttling';
};

/** Time during which at least one operation of a stage was in flight. */
export class BusyClock {
  private active = 0;
  private since = 0;
  private total = 0;

  enter(): void {
    if (this.active++ === 0) this.since = performance.now();
  }

  leave(): void {
    if (--this.active === 0) this.total += performance.now() - this.since;
  }

  ms(now = performance.now()): number {
    return this.total + (this.active > 0 ? now - this.since : 0);
  }
}

const RATE_WINDOW_MS = 5000;

/** Counters of one backupDisk run and the Progress figures derived from them. */
export class Meter {
  readonly started = performance.now();
  bytesRead = 0;
  bytesProcessed = 0;
  bytesTransferred = 0;
  bytesWritten = 0;
  throttledMs = 0;
  readonly source = new BusyClock();
  readonly target = new BusyClock();
  private samples: { t: number; bytes: number }[] = [{ t: this.started, bytes: 0 }];

  constructor(
    readonly totalBytes: number,
    /** Worker milliseconds so far and the number of workers (the proxy stage). */
    private readonly proxyMs: () => { ms: number; workers: number },
  ) {}

  snapshot(final = false): Progress {
    const now = performance.now();
    const elapsed = Math.max(1, now - this.started);
    this.samples.push({ t: now, bytes: this.bytesRead });
    while (this.samples.length > 2 && now - this.samples[1]!.t > RATE_WINDOW_MS) this.samples.shift();
    const first = final ? { t: this.started, bytes: 0 } : this.samples[0]!;
    const rate = now > first.t ? ((this.bytesRead - first.bytes) * 1000) / (now - first.t) : 0;
    const proxy = this.proxyMs();
    const busy = {
      source: Math.min(1, this.source.ms(now) / elapsed),
      proxy: Math.min(1, proxy.ms / (elapsed * Math.max(1, proxy.workers))),
      // Local and mounted repositories: the transfer is the target's write.
      network: 0,
      target: Math.min(1, this.target.ms(now) / elapsed),
    };
    const throttling = Math.min(1, this.throttledMs / elapsed);
    let bottleneck: Progress['bottleneck'] = 'source';
    let top = busy.source;
    for (const s of ['proxy', 'network', 'target'] as const) {
      if (busy[s] > top) {
        top = busy[s];
        bottleneck = s;
      }
    }
    if (throttling > top) bottleneck = 'throttling';
    return {
      bytesRead: this.bytesRead,
      bytesProcessed: this.bytesProcessed,
      bytesTransferred: this.bytesTransferred,
      bytesWritten: this.bytesWritten,
      totalBytes: this.totalBytes,
      rate,
      throttledMs: this.throttledMs,
      busy,
      bottleneck,
    };
  }
}
