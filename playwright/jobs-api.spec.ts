import { expect, test, type APIRequestContext } from '@playwright/test';
import { countJobs, seedInventory } from './db';
import { admin, login, logout, uniqueEmail } from './helpers';

const job = (inv: Awaited<ReturnType<typeof seedInventory>>, name: string) => ({
  name,
  connectionId: inv.connectionId,
  repositoryId: inv.repositoryId,
  objects: [
    { type: 'vm', vmId: inv.vmIds[0] },
    { type: 'pattern', pattern: 'web-*' },
  ],
  retention: { keepPoints: 7 },
  schedule: { kind: 'daily', times: ['22:00'], weekdays: [1, 2, 3, 4, 5] },
  timeZone: 'Europe/Berlin',
});

async function fieldsOf(request: APIRequestContext, data: unknown): Promise<string[]> {
  const response = await request.post('/api/v1/jobs', { data });
  expect(response.status()).toBe(400);
  const body = await response.json();
  return body.error.details.fields.map((f: { field: string }) => f.field);
}

test('job input is validated, naming the field, and nothing is written', async ({ page }) => {
  const inv = await seedInventory('val', ['web-01', 'db-01']);
  const other = await seedInventory('other', ['elsewhere']);
  await login(page, admin.email, admin.password);
  const before = await countJobs();
  const base = job(inv, `Validated ${Date.now()}`);
  expect(await fieldsOf(page.request, { ...base, schedule: { kind: 'daily', times: ['25:00'], weekdays: [1] } })).toEqual(['schedule.times.0']);
  expect(await fieldsOf(page.request, { ...base, repositoryId: '00000000-0000-4000-8000-000000000000' })).toEqual(['repositoryId']);
  expect(await fieldsOf(page.request, { ...base, objects: [{ type: 'vm', vmId: other.vmIds[0] }] })).toEqual(['objects.0.vmId']);
  expect(await fieldsOf(page.request, { ...base, objects: [{ type: 'host', hostId: other.hostId }] })).toEqual(['objects.0.hostId']);
  expect(await fieldsOf(page.request, { ...base, retention: {} })).toEqual(['retention.keepPoints']);
  expect(await countJobs()).toBe(before);

  const created = await page.request.post('/api/v1/jobs', { data: base });
  expect(created.status()).toBe(201);
  const body = await created.json();
  expect(body.options.blockSizeKiB).toBe(1024);
  expect((await page.request.post('/api/v1/jobs', { data: base })).status()).toBe(409);
});

test('two editors: the second save gets 409, never a silent overwrite', async ({ page }) => {
  const inv = await seedInventory('occ', ['vm-a']);
  await login(page, admin.email, admin.password);
  const created = await (await page.request.post('/api/v1/jobs', { data: job(inv, `Concurrent ${Date.now()}`) })).json();
  const { id, version, nextRunAt: _n, createdAt: _c, updatedAt: _u, ...spec } = created;
  const first = await page.request.put(`/api/v1/jobs/${id}`, { data: { ...spec, description: 'first', version } });
  expect(first.status()).toBe(200);
  const second = await page.request.put(`/api/v1/jobs/${id}`, { data: { ...spec, description: 'second', version } });
  expect(second.status()).toBe(409);
  expect((await (await page.request.get(`/api/v1/jobs/${id}`)).json()).description).toBe('first');

  const clone = await page.request.post(`/api/v1/jobs/${id}/clone`);
  expect(clone.status()).toBe(201);
  expect(await clone.json()).toMatchObject({ name: `${spec.name} (copy)`, enabled: false });
});

test('roles: a Viewer reads, a Backup Operator starts but may not delete, an Administrator deletes', async ({ page }) => {
  const inv = await seedInventory('roles', ['vm-r'], { disks: true });
  await login(page, admin.email, admin.password);
  const created = await (await page.request.post('/api/v1/jobs', { data: job(inv, `Roles ${Date.now()}`) })).json();
  const users = { viewer: uniqueEmail('viewer'), operator: uniqueEmail('operator') };
  for (const [role, email] of [
    ['Viewer', users.viewer],
    ['BackupOperator', users.operator],
  ] as const) {
    expect((await page.request.post('/api/v1/users', { data: { email, name: role, role, password: 'a-long-password-9' } })).status()).toBe(201);
  }
  await logout(page);

  await login(page, users.viewer, 'a-long-password-9');
  expect((await page.request.get(`/api/v1/jobs/${created.id}`)).status()).toBe(200);
  expect((await page.request.post(`/api/v1/jobs/${created.id}/start`)).status()).toBe(403);
  expect((await page.request.post('/api/v1/jobs', { data: job(inv, 'viewer job') })).status()).toBe(403);
  expect((await page.request.delete(`/api/v1/jobs/${created.id}`)).status()).toBe(403);
  await logout(page);

  await login(page, users.operator, 'a-long-password-9');
  const start = await page.request.post(`/api/v1/jobs/${created.id}/start`);
  expect(start.status()).toBe(202);
  // The answer names the session, which is there at once: no waiting for the controller.
  const { sessionId } = await start.json();
  const session = await page.request.get(`/api/v1/sessions/${sessionId}`);
  expect(session.status()).toBe(200);
  expect(await session.json()).toMatchObject({ id: sessionId, jobId: created.id, kind: 'backup', triggeredBy: users.operator });
  // While it runs (its VM is not on the hypervisor: it fails and waits 10 min for its retry, as
  // the job's default retries say), a second start makes no second session and names the first.
  const again = await page.request.post(`/api/v1/jobs/${created.id}/start`);
  expect(again.status()).toBe(409);
  expect((await again.json()).error).toMatchObject({ code: 'CONFLICT', details: { sessionId } });
  expect((await page.request.delete(`/api/v1/jobs/${created.id}`)).status()).toBe(403);
  await logout(page);

  await login(page, admin.email, admin.password);
  expect((await page.request.delete(`/api/v1/jobs/${created.id}`)).status()).toBe(204);
  expect((await page.request.get(`/api/v1/jobs/${created.id}`)).status()).toBe(404);
});
