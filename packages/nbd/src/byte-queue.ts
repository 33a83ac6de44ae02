import { NbdError } from './errors.js';

/**
 * Buffers bytes from a socket for the handshake, where messages are small and strictly
 * request/answer, so `await readExact(n)` keeps the negotiation code linear.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private available = 0;
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.available += chunk.length;
    this.wake();
  }

  fail(error: Error): void {
    this.failure ??= error;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(error);
  }

  readExact(n: number): Promise<Buffer> {
    if (this.waiter) throw new NbdError('NBD_PROTOCOL', 'concurrent handshake reads');
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
      this.wake();
    });
  }

  /** Bytes received beyond what the handshake consumed (the first transmission replies). */
  drain(): Buffer {
    const rest = Buffer.concat(this.chunks);
    this.chunks = [];
    this.available = 0;
    return rest;
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    if (this.available >= w.n) {
      this.waiter = null;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      const out = Buffer.from(all.subarray(0, w.n));
      const rest = all.subarray(w.n);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.available = rest.length;
      w.resolve(out);
      return;
    }
    if (this.failure) {
      this.waiter = null;
      w.reject(this.failure);
    }
  }
}
