import { cancelled } from './errors.js';

/**
 * A rate limit in bytes/s, shared by every backupDisk call given the same instance so
 * that a repository's or a proxy's limit is split between its tasks. Each take() books
 * the next slot on a virtual clock; a caller waits until its slot starts. setRate
 * applies from the next take and keeps what is already booked: a limit re-split every
 * second must not forgive the backlog each time (that doubled the effective rate).
 */
export class Throttle {
  private rate: number | null;
  private next = 0;

  constructor(bytesPerSecond: number | null) {
    this.rate = Throttle.check(bytesPerSecond);
  }

  private static check(r: number | null): number | null {
    if (r === null || r === Infinity) return null;
    if (!(r > 0)) throw new RangeError(`throttle rate must be positive bytes/s or null, not ${r}`);
    return r;
  }

  setRate(bytesPerSecond: number | null): void {
    this.rate = Throttle.check(bytesPerSecond);
  }

  get bytesPerSecond(): number | null {
    return this.rate;
  }

  /** Whether a caller waits for its slot now: the limit is what holds the work back. */
  get holding(): boolean {
    return this.rate !== null && this.next > performance.now();
  }

  /** Waits for permission to move `bytes`; resolves to the milliseconds spent waiting. */
  async take(bytes: number, signal?: AbortSignal): Promise<number> {
    if (this.rate === null) return 0;
    const now = performance.now();
    // After an idle spell, at most 50 ms worth of credit: a limit is a limit, not an average.
    const start = Math.max(this.next, now - 50);
    this.next = start + (bytes * 1000) / this.rate;
    const wait = start - now;
    if (wait <= 0) return 0;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(cancelled('the throttled transfer'));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, wait);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    return wait;
  }
}
