import type { Role } from '@strongbox/core';
import { inTransaction, type Db } from './client.js';
import { AppError, isUniqueViolation } from './errors.js';
import { Logins } from './logins.js';
import { hashPassword } from './passwords.js';

export const userSelect = {
  id: true,
  email: true,
  name: true,
  role: true,
  disabled: true,
  lastLoginAt: true,
  createdAt: true,
  version: true,
} as const;

export type UserRow = {
  id: string;
  email: string;
  name: string;
  role: Role;
  disabled: boolean;
  lastLoginAt: Date | null;
  createdAt: Date;
  version: number;
};

export class Users {
  constructor(private readonly db: Db) {}

  list(): Promise<UserRow[]> {
    return this.db.user.findMany({ select: userSelect, orderBy: { email: 'asc' } });
  }

  count(): Promise<number> {
    return this.db.user.count();
  }

  byId(id: string): Promise<UserRow | null> {
    return this.db.user.findUnique({ where: { id }, select: userSelect });
  }

  /** With the hash: only for verifying a login. */
  forLogin(email: string) {
    return this.db.user.findUnique({
      where: { email: email.toLowerCase() },
      select: { ...userSelect, passwordHash: true },
    });
  }

  async create(input: { email: string; name: string; role: Role; password: string }): Promise<UserRow> {
    const passwordHash = await hashPassword(input.password);
    try {
      return await this.db.user.create({
        data: { email: input.email.toLowerCase(), name: input.name, role: input.role, passwordHash },
        select: userSelect,
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new AppError('CONFLICT', `a user with email ${input.email} already exists`, {
          field: 'email',
        });
      }
      throw error;
    }
  }

  /** Optimistic concurrency: `version` is the one the editor saw. */
  async update(id: string, version: number, changes: { name?: string; role?: Role; disabled?: boolean; password?: string }): Promise<UserRow> {
    const data: Record<string, unknown> = {};
    if (changes.name !== undefined) data.name = changes.name;
    if (changes.role !== undefined) data.role = changes.role;
    if (changes.disabled !== undefined) data.disabled = changes.disabled;
    if (changes.password !== undefined) data.passwordHash = await hashPassword(changes.password);
    const result = await this.db.user.updateMany({
      where: { id, version },
      data: { ...data, version: { increment: 1 } },
    });
    if (result.count === 0) {
      const exists = await this.db.user.count({ where: { id } });
      if (!exists) throw new AppError('NOT_FOUND', 'no such user');
      throw new AppError('CONFLICT', 'the user was changed by someone else; reload and try again');
    }
    const row = await this.byId(id);
    if (!row) throw new AppError('NOT_FOUND', 'no such user');
    return row;
  }

  async delete(id: string): Promise<void> {
    const result = await this.db.user.deleteMany({ where: { id } });
    if (result.count === 0) throw new AppError('NOT_FOUND', 'no such user');
  }

  countActiveAdministrators(): Promise<number> {
    return this.db.user.count({ where: { role: 'Administrator', disabled: false } });
  }

  /**
   * The active administrators, locked until the transaction ends: of two changes that
   * would each leave one administrator (two admins demoting each other at once), the
   * second waits for the first and then counts what it left.
   */
  private async lockActiveAdministrators(): Promise<string[]> {
    const rows = await this.db.$queryRaw<{ id: string }[]>`SELECT id FROM "User" WHERE role = 'Administrator' AND disabled = false FOR UPDATE`;
    return rows.map((r) => r.id);
  }

  /**
   * An edit by `actorId` that cannot lock the console out: no one removes their own
   * administrator rights, and the last active administrator stays one. A disabled user or
   * a new password ends that user's logins, in the same transaction.
   */
  updateChecked(actorId: string, id: string, input: { version: number; name?: string; role?: Role; disabled?: boolean; password?: string }): Promise<UserRow> {
    return inTransaction(this.db, 'users.update', async (tx) => {
      const users = new Users(tx);
      const target = await users.byId(id);
      if (!target) throw new AppError('NOT_FOUND', 'no such user');
      const losesAdmin =
        target.role === 'Administrator' && !target.disabled && ((input.role !== undefined && input.role !== 'Administrator') || input.disabled === true);
      if (losesAdmin && target.id === actorId) {
        throw new AppError('BAD_REQUEST', 'you cannot remove your own administrator rights', { field: input.role !== undefined ? 'role' : 'disabled' });
      }
      if (losesAdmin && (await users.lockActiveAdministrators()).length <= 1) throw new AppError('BAD_REQUEST', 'the last active administrator must stay one');
      const row = await users.update(id, input.version, input);
      if (input.disabled === true || input.password !== undefined) await new Logins(tx).revokeAllForUser(id);
      return row;
    });
  }

  /** A delete with the same two rules. */
  async deleteChecked(actorId: string, id: string): Promise<UserRow> {
    if (id === actorId) throw new AppError('BAD_REQUEST', 'you cannot delete yourself');
    return inTransaction(this.db, 'users.delete', async (tx) => {
      const users = new Users(tx);
      const target = await users.byId(id);
      if (!target) throw new AppError('NOT_FOUND', 'no such user');
      if (target.role === 'Administrator' && !target.disabled && (await users.lockActiveAdministrators()).length <= 1) {
        throw new AppError('BAD_REQUEST', 'the last active administrator cannot be deleted');
      }
      await users.delete(id);
      return target;
    });
  }

  recordLogin(id: string): Promise<unknown> {
    return this.db.user.update({ where: { id }, data: { lastLoginAt: new Date() } });
  }
}
