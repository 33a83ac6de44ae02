import { Redis } from 'ioredis';
import { env } from '@strongbox/config';

const holder = globalThis as unknown as { __strongboxRedis?: Redis };

/** One connection per web process; keys are namespaced by STRONGBOX_REDIS_PREFIX. */
export function redis(): Redis {
  holder.__strongboxRedis ??= new Redis(env().REDIS_URL, {
    maxRetriesPerRequest: 2,
    enableOfflineQueue: false,
    lazyConnect: false,
  });
  return holder.__strongboxRedis;
}

export function key(...parts: string[]): string {
  return [env().STRONGBOX_REDIS_PREFIX, ...parts].join(':');
}
