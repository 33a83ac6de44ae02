import { env } from '@strongbox/config';
import { key, redis } from './redis';

/**
 * Failed logins are counted per address and per email, in Redis so that every web
 * replica shares the count. A success does not reset the per-address count: spraying many
 * accounts from one address stays limited.
 */
export async function loginAttemptsExceeded(ip: string, email: string): Promise<number | null> {
  const { STRONGBOX_LOGIN_MAX_ATTEMPTS: max } = env();
  const keys = [key('login', 'ip', ip), key('login', 'email', email.toLowerCase())];
  const counts = await redis().mget(...keys);
  for (const [i, count] of counts.entries()) {
    if (Number(count ?? 0) >= max) {
      const ttl = await redis().ttl(keys[i]!);
      return Math.max(ttl, 1);
    }
  }
  return null;
}

export async function recordFailedLogin(ip: string, email: string): Promise<void> {
  const { STRONGBOX_LOGIN_WINDOW_SECONDS: window } = env();
  const multi = redis().multi();
  for (const k of [key('login', 'ip', ip), key('login', 'email', email.toLowerCase())]) {
    multi.incr(k).expire(k, window, 'NX');
  }
  await multi.exec();
}

export async function clearFailedLogins(email: string): Promise<void> {
  await redis().del(key('login', 'email', email.toLowerCase()));
}
