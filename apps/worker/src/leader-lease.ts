import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

// Renew and release only while the lease is still ours: compare-and-set in one script.
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * One active controller, the others standing by (docs/architecture.md): a Redis key with a
 * TTL, held by renewing it well inside its TTL. A holder that dies loses it within `ttlMs`.
 */
export class LeaderLease {
  readonly token = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private leading = false;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly ttlMs = 15_000,
    private readonly onChange: (leading: boolean) => void = () => {},
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /** One attempt to take or keep the lease. */
  async tick(): Promise<boolean> {
    const now = this.leading
      ? (await this.redis.eval(RENEW, 1, this.key, this.token, String(this.ttlMs))) === 1
      : (await this.redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX')) === 'OK';
    if (now !== this.leading) {
      this.leading = now;
      this.onChange(now);
    }
    return now;
  }

  start(onError: (error: unknown) => void): void {
    const loop = () => {
      this.tick()
        .catch((error: unknown) => {
          // A Redis outage means we can no longer prove we lead: step down.
          if (this.leading) {
            this.leading = false;
            this.onChange(false);
          }
          onError(error);
        })
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(loop, this.ttlMs / 3);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.leading) {
      await this.redis.eval(RELEASE, 1, this.key, this.token);
      this.leading = false;
      this.onChange(false);
    }
  }
}
