import { describe, expect, it } from 'vitest';
import { can, isRole, ROLES, type Permission, type Role } from './roles.js';

describe('can', () => {
  const table: [Role, Permission, boolean][] = [
    ['Administrator', 'users.manage', true],
    ['Administrator', 'delete', true],
    ['BackupOperator', 'jobs.run', true],
    ['BackupOperator', 'users.manage', false],
    ['BackupOperator', 'delete', false],
    ['RestoreOperator', 'restore', true],
    ['RestoreOperator', 'jobs.run', false],
    ['Viewer', 'read', true],
    ['Viewer', 'restore', false],
    ['Viewer', 'jobs.run', false],
  ];
  it.each(table)('%s may %s: %s', (role, permission, expected) => {
    expect(can(role, permission)).toBe(expected);
  });

  it('every role may read', () => {
    for (const role of ROLES) expect(can(role, 'read')).toBe(true);
  });
});

describe('isRole', () => {
  it.each([
    ['Viewer', true],
    ['viewer', false],
    ['root', false],
    [42, false],
    [undefined, false],
  ])('%s → %s', (value, expected) => {
    expect(isRole(value)).toBe(expected);
  });
});
