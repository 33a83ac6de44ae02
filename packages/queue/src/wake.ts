import type { Redis } from 'ioredis';

/**
 * A nudge for the leader controller's round: "a session is waiting" (a start made in the
 * web tier). The session row is what counts; the nudge only saves the wait for the next
 * tick, so a nudge lost (no leader yet, a Redis blip) costs a couple of seconds, nothing more.
 */
const channel = (prefix: string) => `${prefix}:runs:wake`;

export async function wakeRuns(redis: Redis, prefix: string): Promise<void> {
  await redis.publish(channel(prefix), '1');
}

/**
 * Calls `fn` on every nudge until the returned stop is called, on a connection of its own.
 * The subscription is made in the background: a Redis that is not up yet delays the
 * nudges, never the caller's start (ioredis subscribes again after a reconnect).
 */
export function onRunsWake(redis: Redis, prefix: string, fn: () => void, onError: (error: unknown) => void): () => Promise<void> {
  const subscriber = redis.duplicate();
  subscriber.on('message', () => fn());
  subscriber.subscribe(channel(prefix)).catch(onError);
  return async () => {
    subscriber.disconnect();
  };
}
