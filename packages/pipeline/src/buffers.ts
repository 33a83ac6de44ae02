/** A fixed set of reusable buffers; take() waits while all are out. This is the pipeline's bounded queue. */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: ((b: Buffer) => void)[] = [];

  constructor(count: number, make: () => Buffer) {
    for (let i = 0; i < count; i++) this.free.push(make());
  }

  take(): Promise<Buffer> {
    const b = this.free.pop();
    if (b) return Promise.resolve(b);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(b: Buffer): void {
    const w = this.waiting.shift();
    if (w) w(b);
    else this.free.push(b);
  }
}

/** At most `limit` holders at once. */
export class Semaphore {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async acquire(): Promise<void> {
    if (this.held < this.limit) {
      this.held++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const w = this.waiting.shift();
    if (w) w();
    else this.held--;
  }
}
