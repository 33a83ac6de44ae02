import type { Db } from './client.js';

/** Console logins (revocable); the signed browser token only names a row here. */
export class Logins {
  constructor(private readonly db: Db) {}

  async create(input: { userId: string; ttlSeconds: number; ip?: string | null; userAgent?: string | null }) {
    return this.db.login.create({
      data: {
        userId: input.userId,
        expiresAt: new Date(Date.now() + input.ttlSeconds * 1000),
        ip: input.ip ?? null,
        userAgent: input.userAgent ?? null,
      },
      select: { id: true, expiresAt: true },
    });
  }

  /** The live session and its user, or null when revoked, expired or the user is disabled. */
  async active(id: string) {
    const row = await this.db.login.findUnique({
      where: { id },
      select: {
        id: true,
        expiresAt: true,
        revokedAt: true,
        lastSeenAt: true,
        user: { select: { id: true, email: true, name: true, role: true, disabled: true } },
      },
    });
    if (!row || row.revokedAt || row.expiresAt <= new Date() || row.user.disabled) return null;
    return row;
  }

  touch(id: string) {
    return this.db.login.update({ where: { id }, data: { lastSeenAt: new Date() } });
  }

  listForUser(userId: string) {
    return this.db.login.findMany({
      where: { userId, revokedAt: null, expiresAt: { gt: new Date() } },
      select: { id: true, createdAt: true, lastSeenAt: true, expiresAt: true, ip: true, userAgent: true },
      orderBy: { lastSeenAt: 'desc' },
    });
  }

  revoke(id: string, userId?: string) {
    return this.db.login.updateMany({
      where: { id, revokedAt: null, ...(userId ? { userId } : {}) },
      data: { revokedAt: new Date() },
    });
  }

  revokeAllForUser(userId: string) {
    return this.db.login.updateMany({
      where: { userId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
  }
}
