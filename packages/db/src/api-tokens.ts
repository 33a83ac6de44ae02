import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './client.js';
import { AppError } from './errors.js';

const TOKEN_PREFIX = 'sbx_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export const apiTokenSelect = {
  id: true,
  name: true,
  prefix: true,
  createdAt: true,
  lastUsedAt: true,
  expiresAt: true,
  revokedAt: true,
} as const;

export class ApiTokens {
  constructor(private readonly db: Db) {}

  /** Returns the token itself once; only its hash is stored. */
  async create(userId: string, name: string, expiresAt: Date | null) {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const row = await this.db.apiToken.create({
      data: { userId, name, prefix: token.slice(0, 12), tokenHash: hashToken(token), expiresAt },
      select: apiTokenSelect,
    });
    return { token, row };
  }

  listForUser(userId: string) {
    return this.db.apiToken.findMany({
      where: { userId },
      select: apiTokenSelect,
      orderBy: { createdAt: 'desc' },
    });
  }

  async revoke(id: string, userId: string) {
    const result = await this.db.apiToken.updateMany({
      where: { id, userId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    if (result.count === 0) throw new AppError('NOT_FOUND', 'no such active token');
  }

  /** The token's user when the token is valid; records its use. */
  async authenticate(token: string) {
    if (!token.startsWith(TOKEN_PREFIX)) return null;
    const row = await this.db.apiToken.findUnique({
      where: { tokenHash: hashToken(token) },
      select: {
        id: true,
        name: true,
        revokedAt: true,
        expiresAt: true,
        user: { select: { id: true, email: true, name: true, role: true, disabled: true } },
      },
    });
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt <= new Date()) || row.user.disabled) {
      return null;
    }
    await this.db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
    return row;
  }
}
