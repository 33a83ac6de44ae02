/**
 * Roles, as Veeam's: each role includes what the ones below it may do, except that a
 * Restore Operator may restore but not run or edit backup jobs.
 */
export const ROLES = ['Administrator', 'BackupOperator', 'RestoreOperator', 'Viewer'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  Administrator: 'Administrator',
  BackupOperator: 'Backup Operator',
  RestoreOperator: 'Restore Operator',
  Viewer: 'Viewer',
};

export type Permission = 'read' | 'jobs.run' | 'jobs.edit' | 'restore' | 'infrastructure.edit' | 'users.manage' | 'settings.edit' | 'delete';

const GRANTS: Record<Role, readonly Permission[]> = {
  Administrator: ['read', 'jobs.run', 'jobs.edit', 'restore', 'infrastructure.edit', 'users.manage', 'settings.edit', 'delete'],
  BackupOperator: ['read', 'jobs.run', 'jobs.edit', 'restore'],
  RestoreOperator: ['read', 'restore'],
  Viewer: ['read'],
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function can(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}
