import { env } from '@strongbox/config';
import { key, redis } from './redis';

/**
 * Failed logins are counted in Redis (shared by every web replica) per address+email, and
 * per address alone with a ten times higher limit so that spraying many accounts from one
 * address is limited too, while one user's typos do not lock out a whole office behind NAT.
 * A success clears only its own address+email count.
 */
function counters(ip: string, email: string): { key: string; max: number }[] {
  const max = env().STRONGBOX_LOGIN_MAX_ATTEMPTS;
  return [
    { key: key('login', 'pair', ip, email.toLowerCase()), max },
    { key: key('login', 'ip', ip), max: max * 10 },
  ];
}

/** Seconds until the next attempt is allowed, or null when it is allowed now. */
export async function loginAttemptsExceeded(ip: string, email: string): Promise<number | null> {
  const list = counters(ip, email);
  const counts = await redis().mget(...list.map((c) => c.key));
  for (const [i, count] of counts.entries()) {
    if (Number(count ?? 0) >= list[i]!.max) return Math.max(await redis().ttl(list[i]!.key), 1);
  }
  return null;
}

export async function recordFailedLogin(ip: string, email: string): Promise<void> {
  const window = env().STRONGBOX_LOGIN_WINDOW_SECONDS;
  const multi = redis().multi();
  for (const c of counters(ip, email)) multi.incr(c.key).expire(c.key, window, 'NX');
  await multi.exec();
}

export async function clearFailedLogins(ip: string, email: string): Promise<void> {
  await redis().del(counters(ip, email)[0]!.key);
}
