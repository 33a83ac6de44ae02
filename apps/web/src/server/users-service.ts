import type { Role } from '@strongbox/core';
import { prisma, Users } from '@strongbox/db';
import type { Actor } from './auth';

/**
 * An administrator cannot lock the console out by demoting, disabling or deleting the last
 * active administrator, or themselves: the rule and its row lock live with the user rows.
 */
export function updateUser(actor: Actor, id: string, input: { version: number; name?: string; role?: Role; disabled?: boolean; password?: string }) {
  return new Users(prisma()).updateChecked(actor.userId, id, input);
}

export function deleteUser(actor: Actor, id: string) {
  return new Users(prisma()).deleteChecked(actor.userId, id);
}
