import type { Role } from '@strongbox/core';
import { AppError, transaction, UserRepository, UserSessionRepository } from '@strongbox/db';
import type { Actor } from './auth';

/**
 * Rules on top of the user rows: an administrator cannot lock the console out by
 * demoting, disabling or deleting the last active administrator, or themselves.
 */
export async function updateUser(actor: Actor, id: string, input: { version: number; name?: string; role?: Role; disabled?: boolean; password?: string }) {
  return transaction('users.update', async (tx) => {
    const users = new UserRepository(tx);
    const target = await users.byId(id);
    if (!target) throw new AppError('NOT_FOUND', 'no such user');
    const losesAdmin =
      target.role === 'Administrator' && !target.disabled && ((input.role !== undefined && input.role !== 'Administrator') || input.disabled === true);
    if (losesAdmin && target.id === actor.userId) {
      throw new AppError('BAD_REQUEST', 'you cannot remove your own administrator rights', {
        field: input.role !== undefined ? 'role' : 'disabled',
      });
    }
    if (losesAdmin && (await users.countActiveAdministrators()) <= 1) {
      throw new AppError('BAD_REQUEST', 'the last active administrator must stay one');
    }
    const row = await users.update(id, input.version, input);
    // A disabled user or a new password ends every open login of that user.
    if (input.disabled === true || input.password !== undefined) {
      await new UserSessionRepository(tx).revokeAllForUser(id);
    }
    return row;
  });
}

export async function deleteUser(actor: Actor, id: string) {
  if (id === actor.userId) throw new AppError('BAD_REQUEST', 'you cannot delete yourself');
  return transaction('users.delete', async (tx) => {
    const users = new UserRepository(tx);
    const target = await users.byId(id);
    if (!target) throw new AppError('NOT_FOUND', 'no such user');
    if (target.role === 'Administrator' && !target.disabled && (await users.countActiveAdministrators()) <= 1) {
      throw new AppError('BAD_REQUEST', 'the last active administrator cannot be deleted');
    }
    await users.delete(id);
    return target;
  });
}
