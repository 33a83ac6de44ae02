import type { NbdClient } from './client.js';
import { NbdError } from './errors.js';

export type NbdDiskWriterOptions = {
  /** Bytes of write payload in flight at most; a writeBlock beyond it waits. Default 64 MiB. */
  maxInFlightBytes?: number;
  /** Requests in flight at most (zeroes carry no payload, so bytes alone would not bound them). Default 64. */
  maxInFlightRequests?: number;
  /** Let the server deallocate zeroed ranges (holes, unallocated clusters). Default true. */
  punchHoles?: boolean;
};

export type NbdDiskWriterResult = { bytesWritten: number; bytesZeroed: number; flushed: boolean };

const DEFAULT_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
const DEFAULT_IN_FLIGHT_REQUESTS = 64;

/**
 * Writes one disk through an NbdClient for a restore: writes and zeroes are pipelined up
 * to a bound on what is in flight (writeBlock and zero wait while it is reached), the
 * first failure is kept and thrown by every later call, and finish() flushes once, at
 * the end — a flush per block would make the server sync its image for every block.
 */
export class NbdDiskWriter {
  private inFlightBytes = 0;
  private inFlightRequests = 0;
  private readonly waiting: (() => void)[] = [];
  private idle: (() => void)[] = [];
  private failure: Error | null = null;
  private state: 'open' | 'finished' | 'aborted' = 'open';
  private readonly maxBytes: number;
  private readonly maxRequests: number;
  bytesWritten = 0;
  bytesZeroed = 0;

  constructor(
    readonly client: NbdClient,
    private readonly options: NbdDiskWriterOptions = {},
  ) {
    this.maxBytes = options.maxInFlightBytes ?? DEFAULT_IN_FLIGHT_BYTES;
    this.maxRequests = options.maxInFlightRequests ?? DEFAULT_IN_FLIGHT_REQUESTS;
    if (!(this.maxBytes > 0) || !(this.maxRequests >= 1)) {
      throw new RangeError(`in-flight bounds must be positive (bytes ${this.maxBytes}, requests ${this.maxRequests})`);
    }
    if (client.readOnly) {
      throw new NbdError('NBD_READ_ONLY', `cannot restore to export "${client.exportName}": the server announced it read-only`);
    }
  }

  get size(): number {
    return this.client.size;
  }

  /** Bytes of payload sent and not yet answered. */
  get bytesInFlight(): number {
    return this.inFlightBytes;
  }

  /**
   * Sends `data` to `offset` and resolves as soon as the in-flight bound allows the next
   * call, usually before the server answers: `data` belongs to the writer until
   * `release(data)` is called (answered or failed), after which the caller may reuse it.
   */
  async writeBlock(offset: number, data: Buffer, release?: (data: Buffer) => void): Promise<void> {
    try {
      await this.room(data.length);
    } catch (e) {
      release?.(data);
      throw e;
    }
    this.track(data.length, this.client.write(offset, data), () => (this.bytesWritten += data.length), release && (() => release(data)));
  }

  /** Makes `length` bytes at `offset` read as zeros (WRITE_ZEROES, or zero-filled writes on a server without it). */
  async zero(offset: number, length: number): Promise<void> {
    // Written as data, zeroes go out a few requests at a time from one shared buffer (NbdClient), so they weigh one request's worth.
    await this.room(0);
    this.track(0, this.client.writeZeroes(offset, length, { punchHole: this.options.punchHoles ?? true }), () => (this.bytesZeroed += length));
  }

  /** Waits for everything in flight, then flushes once. Throws the first failure of any write or zero. */
  async finish(): Promise<NbdDiskWriterResult> {
    this.checkOpen();
    await this.drained();
    this.checkOpen();
    this.state = 'finished';
    const flushed = await this.client.flush();
    return { bytesWritten: this.bytesWritten, bytesZeroed: this.bytesZeroed, flushed };
  }

  /**
   * Stops: later calls throw `reason`, callers waiting for room are released with it, and
   * the promise settles when nothing is in flight any more (so the client may be closed).
   * Nothing is flushed. Calling it again, or after a failure, is harmless.
   */
  async abort(reason?: Error): Promise<void> {
    if (this.state === 'open') {
      this.state = 'aborted';
      this.failure ??= reason ?? new NbdError('NBD_CLOSED', `the restore to export "${this.client.exportName}" was aborted`);
      this.wake();
    }
    await this.drained();
  }

  private checkOpen(): void {
    if (this.failure) throw this.failure;
    if (this.state !== 'open') throw new NbdError('NBD_CLOSED', `the disk writer to export "${this.client.exportName}" is ${this.state}`);
  }

  private async room(bytes: number): Promise<void> {
    for (;;) {
      this.checkOpen();
      const fits = this.inFlightBytes + bytes <= this.maxBytes && this.inFlightRequests < this.maxRequests;
      // A single block larger than the bound still goes out, alone.
      if (fits || this.inFlightRequests === 0) return;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private track(bytes: number, op: Promise<void>, onSuccess: () => void, release?: () => void): void {
    this.inFlightBytes += bytes;
    this.inFlightRequests++;
    void op
      .then(onSuccess, (e: unknown) => {
        this.failure ??= e instanceof Error ? e : new Error(String(e));
      })
      .finally(() => {
        this.inFlightBytes -= bytes;
        this.inFlightRequests--;
        release?.();
        this.wake();
        if (this.inFlightRequests === 0) {
          const idle = this.idle;
          this.idle = [];
          for (const r of idle) r();
        }
      });
  }

  private wake(): void {
    for (const w of this.waiting.splice(0)) w();
  }

  private drained(): Promise<void> {
    if (this.inFlightRequests === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
