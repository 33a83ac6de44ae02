import type { NextAuthOptions } from 'next-auth';
import { getServerSession } from 'next-auth';
import CredentialsProvider from 'next-auth/providers/credentials';
import { env } from '@strongbox/config';
import { isRole, type Role } from '@strongbox/core';
import { AuditTrail, dummyPasswordHash, prisma, Users, Logins, verifyPassword } from '@strongbox/db';
import { clearFailedLogins, loginAttemptsExceeded, recordFailedLogin } from './rate-limit';

/** Console logins last a working day; the row in UserSession can end them any time. */
const SESSION_TTL_SECONDS = 12 * 60 * 60;

/** The one message for a wrong email, a wrong password or a disabled user. */
export const LOGIN_REFUSED = 'Invalid email or password.';

export type Actor = {
  userId: string;
  email: string;
  name: string;
  role: Role;
  via: 'session' | 'token';
  /** The login (UserSession id) or the API token's name. */
  sessionId?: string;
  tokenName?: string;
};

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

export function clientIp(headers: unknown): string {
  const forwarded = headerValue(headers, 'x-forwarded-for');
  return forwarded?.split(',')[0]?.trim() || headerValue(headers, 'x-real-ip') || 'unknown';
}

let options: NextAuthOptions | undefined;

/** Built on first use, not at import: `next build` imports routes without an env. */
export function authOptions(): NextAuthOptions {
  options ??= {
    secret: env().AUTH_SECRET,
    session: { strategy: 'jwt', maxAge: SESSION_TTL_SECONDS },
    pages: { signIn: '/login' },
    providers: [
      CredentialsProvider({
        name: 'Email and password',
        credentials: { email: { type: 'email' }, password: { type: 'password' } },
        async authorize(credentials, req) {
          const email = String(credentials?.email ?? '')
            .trim()
            .toLowerCase();
          const password = String(credentials?.password ?? '');
          const ip = clientIp(req?.headers);
          const retryAfter = await loginAttemptsExceeded(ip, email);
          if (retryAfter !== null) {
            throw new Error(`Too many failed attempts. Try again in ${Math.ceil(retryAfter / 60)} minute(s).`);
          }
          const db = prisma();
          const user = email ? await new Users(db).forLogin(email) : null;
          // Verify against a dummy hash for unknown emails: same time, same answer.
          const ok = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), password);
          if (!user || !ok || user.disabled) {
            await recordFailedLogin(ip, email);
            await new AuditTrail(db).record({
              userId: user?.id ?? null,
              actor: email || '(empty)',
              action: 'login.failed',
              targetType: 'user',
              targetId: user?.id ?? null,
              ip,
            });
            throw new Error(LOGIN_REFUSED);
          }
          await clearFailedLogins(ip, email);
          const login = await new Logins(db).create({
            userId: user.id,
            ttlSeconds: SESSION_TTL_SECONDS,
            ip,
            userAgent: headerValue(req?.headers, 'user-agent') ?? null,
          });
          await new Users(db).recordLogin(user.id);
          await new AuditTrail(db).record({
            userId: user.id,
            actor: user.email,
            action: 'login',
            targetType: 'user',
            targetId: user.id,
            ip,
          });
          return { id: user.id, email: user.email, name: user.name, sid: login.id };
        },
      }),
    ],
    callbacks: {
      jwt({ token, user }) {
        if (user && 'sid' in user) token.sid = user.sid as string;
        return token;
      },
      session({ session, token }) {
        return { ...session, sid: token.sid };
      },
    },
    events: {
      async signOut({ token }) {
        if (typeof token?.sid === 'string') await new Logins(prisma()).revoke(token.sid);
      },
    },
  };
  return options;
}

/** The logged-in console user, checked against the live session row on every call. */
export async function currentUser(): Promise<Actor | null> {
  const session = (await getServerSession(authOptions())) as { sid?: unknown } | null;
  if (!session || typeof session.sid !== 'string') return null;
  const sessions = new Logins(prisma());
  const row = await sessions.active(session.sid);
  if (!row || !isRole(row.user.role)) return null;
  // lastSeenAt is for the sessions list; a minute's precision is plenty.
  if (Date.now() - row.lastSeenAt.getTime() > 60_000) await sessions.touch(row.id);
  return {
    userId: row.user.id,
    email: row.user.email,
    name: row.user.name,
    role: row.user.role,
    via: 'session',
    sessionId: row.id,
  };
}
