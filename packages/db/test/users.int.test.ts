import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiTokens, AppError, bootstrap, createPrismaClient, Users, Logins, verifyPassword } from '../src/index.js';
import { applyMigrations } from '../src/migrate.js';
import { dropDatabase, env, scratchDatabaseUrl } from './helpers.js';

const db = createPrismaClient(env().DATABASE_URL);
afterAll(() => db.$disconnect());
const email = (tag: string) => `${tag}-${randomBytes(4).toString('hex')}@int.test`;

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('Users', () => {
  const users = new Users(db);

  it('stores an argon2id hash, never the password', async () => {
    const row = await users.create({ email: email('Hash'), name: 'H', role: 'Viewer', password: 'a-long-password-1' });
    const login = await users.forLogin(row.email);
    expect(login!.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(login!.passwordHash, 'a-long-password-1')).toBe(true);
    expect(await verifyPassword(login!.passwordHash, 'wrong')).toBe(false);
    expect(row.email).toBe(row.email.toLowerCase());
  });

  it('refuses a second user with the same email and writes nothing', async () => {
    const e = email('dup');
    await users.create({ email: e, name: 'A', role: 'Viewer', password: 'a-long-password-1' });
    const before = await users.count();
    expect(await code(users.create({ email: e.toUpperCase(), name: 'B', role: 'Administrator', password: 'a-long-password-2' }))).toBe('CONFLICT');
    expect(await users.count()).toBe(before);
  });

  it('gives the second of two editors a conflict, never a silent overwrite', async () => {
    const row = await users.create({ email: email('occ'), name: 'Original', role: 'Viewer', password: 'a-long-password-1' });
    const first = await users.update(row.id, row.version, { name: 'First' });
    expect(first.version).toBe(row.version + 1);
    expect(await code(users.update(row.id, row.version, { name: 'Second' }))).toBe('CONFLICT');
    expect((await users.byId(row.id))!.name).toBe('First');
    expect(await code(users.update('00000000-0000-4000-8000-000000000000', 1, { name: 'x' }))).toBe('NOT_FOUND');
  });
});

describe('ApiTokens', () => {
  it('authenticates a token by its hash until it is revoked or expires', async () => {
    const user = await new Users(db).create({ email: email('tok'), name: 'T', role: 'BackupOperator', password: 'a-long-password-1' });
    const tokens = new ApiTokens(db);
    const { token, row } = await tokens.create(user.id, 'cli', null);
    expect(row.prefix).toBe(token.slice(0, 12));
    expect((await tokens.authenticate(token))!.user.role).toBe('BackupOperator');
    expect(await tokens.authenticate(`${token}x`)).toBeNull();
    expect(await tokens.authenticate('not-a-token')).toBeNull();
    await tokens.revoke(row.id, user.id);
    expect(await tokens.authenticate(token)).toBeNull();
    expect(await code(tokens.revoke(row.id, user.id))).toBe('NOT_FOUND');

    const expired = await tokens.create(user.id, 'old', new Date(Date.now() - 1000));
    expect(await tokens.authenticate(expired.token)).toBeNull();
  });

  it('does not let one user revoke another user\u2019s token', async () => {
    const users = new Users(db);
    const a = await users.create({ email: email('a'), name: 'A', role: 'Viewer', password: 'a-long-password-1' });
    const b = await users.create({ email: email('b'), name: 'B', role: 'Viewer', password: 'a-long-password-1' });
    const tokens = new ApiTokens(db);
    const { token, row } = await tokens.create(a.id, 'mine', null);
    expect(await code(tokens.revoke(row.id, b.id))).toBe('NOT_FOUND');
    expect(await tokens.authenticate(token)).not.toBeNull();
  });
});

describe('Logins', () => {
  it('ends a login when it is revoked or its user is disabled', async () => {
    const users = new Users(db);
    const user = await users.create({ email: email('sess'), name: 'S', role: 'Viewer', password: 'a-long-password-1' });
    const sessions = new Logins(db);
    const one = await sessions.create({ userId: user.id, ttlSeconds: 60 });
    const two = await sessions.create({ userId: user.id, ttlSeconds: 60 });
    expect(await sessions.active(one.id)).not.toBeNull();
    await sessions.revoke(one.id);
    expect(await sessions.active(one.id)).toBeNull();
    expect(await sessions.active(two.id)).not.toBeNull();
    await users.update(user.id, user.version, { disabled: true });
    expect(await sessions.active(two.id)).toBeNull();
  });

  it('treats an expired login as ended', async () => {
    const user = await new Users(db).create({ email: email('exp'), name: 'E', role: 'Viewer', password: 'a-long-password-1' });
    const sessions = new Logins(db);
    const login = await sessions.create({ userId: user.id, ttlSeconds: -1 });
    expect(await sessions.active(login.id)).toBeNull();
  });
});

describe('bootstrap', () => {
  it('makes the first administrator and the default repository once, then keeps them', async () => {
    const scratch = scratchDatabaseUrl('boot');
    const path = join(await mkdtemp(join(tmpdir(), 'strongbox-boot-')), 'repository');
    const fresh = createPrismaClient(scratch.url);
    try {
      await applyMigrations(scratch.url);
      const first = await bootstrap(fresh, { adminEmail: 'Admin@Example.test', repositoryPath: path });
      expect(first.admin).toMatchObject({ email: 'admin@example.test', created: true });
      expect(first.admin.generatedPassword).toMatch(/^[\w-]{16}$/);
      const login = await new Users(fresh).forLogin('admin@example.test');
      expect(login!.role).toBe('Administrator');
      expect(await verifyPassword(login!.passwordHash, first.admin.generatedPassword!)).toBe(true);
      expect(existsSync(path)).toBe(true);

      const second = await bootstrap(fresh, { adminEmail: 'other@example.test', adminPassword: 'another-password', repositoryPath: `${path}-2` });
      expect(second.admin).toMatchObject({ created: false, generatedPassword: null });
      expect(second.repository).toEqual({ path, created: false });
      expect(await new Users(fresh).count()).toBe(1);
    } finally {
      await fresh.$disconnect();
      await dropDatabase(scratch.name);
    }
  });
});
