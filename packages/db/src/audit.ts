import type { Db } from './client.js';
import type { Prisma } from './generated/client.js';

export type AuditEntry = {
  userId: string | null;
  actor: string;
  action: string;
  targetType: string;
  targetId?: string | null;
  details?: Prisma.InputJsonValue;
  ip?: string | null;
};

export class AuditTrail {
  constructor(private readonly db: Db) {}

  record(entry: AuditEntry) {
    return this.db.auditLog.create({
      data: {
        userId: entry.userId,
        actor: entry.actor,
        action: entry.action,
        targetType: entry.targetType,
        targetId: entry.targetId ?? null,
        ...(entry.details === undefined ? {} : { details: entry.details }),
        ip: entry.ip ?? null,
      },
    });
  }

  async page(page: number, perPage: number) {
    const [rows, total] = await Promise.all([
      this.db.auditLog.findMany({
        orderBy: { id: 'desc' },
        skip: (page - 1) * perPage,
        take: perPage,
      }),
      this.db.auditLog.count(),
    ]);
    return { rows, total };
  }
}
