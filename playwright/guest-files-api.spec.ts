import { randomBytes, randomUUID } from 'node:crypto';
import { expect, test, type Page } from '@playwright/test';
import { sql } from './db';
import { admin, login, logout, uniqueEmail } from './helpers';

// The guest-file API's refusals, each made before a mover is asked: a Viewer is 403 (mount,
// browse, download, restore into the VM, versions, search), one user's mount is another's 404
// (administrators included), bad paths are 400 naming the field, a mount that is not ready is
// 409, and a missing point is 404. The mount rows are written
// straight to the database (the lab test in restore-files-lab.spec.ts opens real ones).

/**
 * A mover row that looks alive for the next hour (so that the controller does not end its
 * mounts) and takes no work (disabled); it has no file service anyone could reach.
 */
async function seedMover(): Promise<string> {
  const id = randomUUID();
  await sql(
    `INSERT INTO "Mover" (id, name, "hostName", cores, "maxConcurrentTasks", enabled, "softwareVersion", "lastHeartbeatAt")
     VALUES ($1, $2, 'nowhere', 1, 1, false, 'e2e', now() + interval '1 hour')`,
    [id, `e2e-gf-${id.slice(0, 8)}`],
  );
  return id;
}

/** A mount of `ownerEmail`'s in `state` on `moverId`. */
async function seedMount(ownerEmail: string, state: 'starting' | 'ready', moverId: string): Promise<string> {
  const [owner] = await sql<{ id: string }>(`SELECT id FROM "User" WHERE email = $1`, [ownerEmail]);
  const sessionId = randomUUID();
  const id = randomUUID();
  await sql(`INSERT INTO "Session" (id, kind, name, status, "triggeredBy") VALUES ($1, 'mount', 'Guest files: e2e', 'running', 'e2e')`, [sessionId]);
  await sql(
    `INSERT INTO "GuestMount" (id, "sessionId", "ownerId", "moverId", "vmName", "pointTime", state, token, "idleTimeoutMs", filesystems)
     VALUES ($1, $2, $3, $6, 'e2e-vm', now(), $4, $5, 60000, '[{"key":"sda1","device":"/dev/sda1","type":"ext4","label":null,"sizeBytes":1,"mountable":true}]')`,
    [id, sessionId, owner!.id, state, randomBytes(16).toString('hex'), moverId],
  );
  return id;
}

async function makeUser(page: Page, role: string): Promise<string> {
  const email = uniqueEmail(`gf-${role.toLowerCase()}`);
  const made = await page.request.post('/api/v1/users', { data: { email, name: role, role, password: 'a-long-password-9' } });
  expect(made.status()).toBe(201);
  return email;
}

test('guest files API: Viewer 403, another user 404, bad paths 400 naming the field, not ready 409, a missing point 404; the list is the caller’s own', async ({
  page,
}) => {
  await login(page, admin.email, admin.password);
  const operator = await makeUser(page, 'RestoreOperator');
  const viewer = await makeUser(page, 'Viewer');
  const moverId = await seedMover();
  const ready = await seedMount(operator, 'ready', moverId);
  const starting = await seedMount(operator, 'starting', moverId);

  // The administrator is not the owner: exactly as if it did not exist.
  for (const url of [`/api/v1/mounts/${ready}`, `/api/v1/mounts/${ready}/files?path=/`, `/api/v1/mounts/${ready}/download?path=/sda1/a`]) {
    expect((await page.request.get(url)).status(), url).toBe(404);
  }
  expect((await page.request.delete(`/api/v1/mounts/${ready}`)).status()).toBe(404);
  expect((await page.request.post(`/api/v1/mounts/${ready}/restore`, { data: { paths: ['/sda1/a'], mode: 'overwrite' } })).status()).toBe(404);
  expect((await page.request.get(`/api/v1/mounts/${ready}/versions?path=/sda1/a`)).status()).toBe(404);
  // Guest files go into a VM from their browser only (its owner's): the general restore route refuses them, naming kind.
  const viaRestores = await page.request.post('/api/v1/restores', {
    data: { kind: 'files', pointId: randomUUID(), mountId: ready, paths: ['/sda1/a'], mode: 'overwrite' },
  });
  expect(viaRestores.status()).toBe(400);
  expect((await viaRestores.json()).error.details.field).toBe('kind');
  expect(((await (await page.request.get('/api/v1/mounts')).json()) as { data: { id: string }[] }).data.map((m) => m.id)).not.toContain(ready);
  const missingPoint = await page.request.post(`/api/v1/restore-points/${randomUUID()}/mounts`);
  expect(missingPoint.status()).toBe(404);
  await logout(page);

  await login(page, viewer, 'a-long-password-9');
  expect((await page.request.get('/api/v1/mounts')).status()).toBe(403);
  expect((await page.request.get(`/api/v1/mounts/${ready}/files?path=/`)).status()).toBe(403);
  expect((await page.request.post(`/api/v1/restore-points/${randomUUID()}/mounts`)).status()).toBe(403);
  expect((await page.request.get('/api/v1/guest-files?q=report')).status()).toBe(403);
  expect((await page.request.get(`/api/v1/mounts/${ready}/versions?path=/sda1/a`)).status()).toBe(403);
  expect((await page.request.post(`/api/v1/mounts/${ready}/restore`, { data: { paths: ['/sda1/a'], mode: 'overwrite' } })).status()).toBe(403);
  await logout(page);

  await login(page, operator, 'a-long-password-9');
  const mine = (await (await page.request.get('/api/v1/mounts')).json()) as { data: { id: string; token?: string }[] };
  expect(mine.data.map((m) => m.id).sort()).toEqual([ready, starting].sort());
  expect(JSON.stringify(mine)).not.toMatch(/token|serviceUrl/);
  for (const bad of ['/sda1/../../etc/passwd', 'sda1/etc', '/sda1/a\u0000b']) {
    for (const route of ['files', 'download']) {
      const res = await page.request.get(`/api/v1/mounts/${ready}/${route}?path=${encodeURIComponent(bad)}`);
      expect(res.status(), `${route} ${JSON.stringify(bad)}`).toBe(400);
      expect((await res.json()).error.details.field).toBe('path');
    }
  }
  // Restore to the VM: bad paths and modes are 400 naming the field; a mount not ready is 409; nothing starts.
  for (const [data, field] of [
    [{ paths: ['sda1/etc'], mode: 'overwrite' }, 'paths.0'],
    [{ paths: ['/sda1/../etc'], mode: 'overwrite' }, 'paths.0'],
    [{ paths: [], mode: 'overwrite' }, 'paths'],
    [{ paths: ['/sda1/a'], mode: 'merge' }, 'mode'],
  ] as const) {
    const res = await page.request.post(`/api/v1/mounts/${ready}/restore`, { data });
    expect(res.status(), JSON.stringify(data)).toBe(400);
    expect((await res.json()).error.details.field).toBe(field);
  }
  const restoreNotReady = await page.request.post(`/api/v1/mounts/${starting}/restore`, { data: { paths: ['/sda1/a'], mode: 'keep-both' } });
  expect(restoreNotReady.status()).toBe(409);
  expect((await restoreNotReady.json()).error.message).toMatch(/starting/);
  expect((await sql(`SELECT id FROM "Session" WHERE kind = 'restore' AND request->'request'->>'mountId' = ANY($1::text[])`, [[ready, starting]])).length).toBe(
    0,
  );
  // Search and versions: the query's fields are checked; a mount's versions of a file with no index are none.
  for (const [query, field] of [
    ['', 'q'],
    ['q=report&vmId=nope', 'vmId'],
    ['q=report&from=yesterday', 'from'],
  ] as const) {
    const res = await page.request.get(`/api/v1/guest-files?${query}`);
    expect(res.status(), query).toBe(400);
    expect((await res.json()).error.details.field).toBe(field);
  }
  expect((await (await page.request.get('/api/v1/guest-files?q=no-such-file-anywhere')).json()).data).toEqual([]);
  const badVersions = await page.request.get(`/api/v1/mounts/${ready}/versions?path=${encodeURIComponent('sda1/a')}`);
  expect(badVersions.status()).toBe(400);
  expect((await badVersions.json()).error.details.field).toBe('path');
  const versions = await page.request.get(`/api/v1/mounts/${ready}/versions?path=/sda1/a`);
  expect(versions.status()).toBe(200);
  expect(await versions.json()).toEqual({ path: '/sda1/a', versions: [], pointsNotIndexed: 0 });
  const badFormat = await page.request.get(`/api/v1/mounts/${ready}/download?path=/sda1/a&format=rar`);
  expect(badFormat.status()).toBe(400);
  expect((await badFormat.json()).error.details.field).toBe('format');
  const notReady = await page.request.get(`/api/v1/mounts/${starting}/files?path=/`);
  expect(notReady.status()).toBe(409);
  expect((await notReady.json()).error.message).toMatch(/starting/);
  // Nothing of the above was written: both mounts are as they were.
  const rows = await sql<{ state: string }>(`SELECT state FROM "GuestMount" WHERE id = ANY($1::uuid[]) ORDER BY state`, [[ready, starting]]);
  expect(rows.map((r) => r.state)).toEqual(['ready', 'starting']);
  await sql(`DELETE FROM "Session" WHERE id IN (SELECT "sessionId" FROM "GuestMount" WHERE id = ANY($1::uuid[]))`, [[ready, starting]]);
  await sql(`DELETE FROM "Mover" WHERE id = $1`, [moverId]);
});
