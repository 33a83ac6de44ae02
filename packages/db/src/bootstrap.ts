import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { PrismaClient } from './generated/client.js';
import { BackupRepositories } from './backup-repositories.js';
import { AuditTrail } from './audit.js';
import { Users } from './users.js';

export type BootstrapResult = {
  admin: { email: string; created: boolean; generatedPassword: string | null };
  repository: { path: string; created: boolean };
};

/**
 * What a first start needs: an administrator (password given, or generated and returned
 * once to be printed) and the default repository folder. Idempotent: a later start with
 * the same database changes nothing.
 */
export async function bootstrap(
  db: PrismaClient,
  input: { adminEmail: string; adminPassword?: string | undefined; repositoryPath: string },
): Promise<BootstrapResult> {
  const users = new Users(db);
  let admin: BootstrapResult['admin'] = { email: input.adminEmail, created: false, generatedPassword: null };
  if ((await users.count()) === 0) {
    const generated = input.adminPassword ? null : randomBytes(12).toString('base64url');
    const password = input.adminPassword ?? generated!;
    const row = await users.create({
      email: input.adminEmail,
      name: 'Administrator',
      role: 'Administrator',
      password,
    });
    await new AuditTrail(db).record({
      userId: row.id,
      actor: 'system',
      action: 'user.create',
      targetType: 'user',
      targetId: row.id,
      details: { email: row.email, role: row.role, reason: 'first start' },
    });
    admin = { email: row.email, created: true, generatedPassword: generated };
  }
  await mkdir(input.repositoryPath, { recursive: true });
  const { repository, created } = await new BackupRepositories(db).ensureDefault(input.repositoryPath);
  return { admin, repository: { path: repository.path, created } };
}
