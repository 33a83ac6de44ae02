import { Redis } from 'ioredis';
import { env } from '@strongbox/config';
import { Queues } from '@strongbox/queue';

const holder = globalThis as unknown as { __strongboxQueues?: Queues };

/** The web tier only produces jobs; the controller and movers consume them. */
export function queues(): Queues {
  holder.__strongboxQueues ??= new Queues(new Redis(env().REDIS_URL, { maxRetriesPerRequest: null }), env().STRONGBOX_REDIS_PREFIX);
  return holder.__strongboxQueues;
}
