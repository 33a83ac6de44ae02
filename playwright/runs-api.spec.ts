import { expect, test } from '@playwright/test';
import { admin, login, logout, uniqueEmail } from './helpers';

test('repositories: input validated with the field named and nothing written; roles checked; a used repository stays', async ({ page }) => {
  await login(page, admin.email, admin.password);
  const list = async () =>
    (await (await page.request.get('/api/v1/repositories')).json()).data as { id: string; name: string; isDefault: boolean; version: number }[];
  const before = (await list()).length;
  const bad = await page.request.post('/api/v1/repositories', { data: { name: 'relative', path: 'backups/here' } });
  expect(bad.status()).toBe(400);
  expect((await bad.json()).error.details.fields.map((f: { field: string }) => f.field)).toEqual(['path']);
  const badLimit = await page.request.post('/api/v1/repositories', { data: { name: 'zero', path: '/srv/x', maxConcurrentTasks: 0 } });
  expect((await badLimit.json()).error.details.fields[0].field).toBe('maxConcurrentTasks');
  const name = `Repo ${Date.now()}`;
  const created = await page.request.post('/api/v1/repositories', {
    data: { name, path: `/var/tmp/strongbox-e2e-${Date.now()}`, maxConcurrentTasks: 2, writeRateLimitMiBs: 100 },
  });
  expect(created.status()).toBe(201);
  const repo = await created.json();
  expect(repo).toMatchObject({ name, maxConcurrentTasks: 2, writeRateLimitMiBs: 100, version: 1 });
  expect((await list()).length).toBe(before + 1);
  // A stale edit gets 409.
  expect((await page.request.patch(`/api/v1/repositories/${repo.id}`, { data: { version: 1, maxConcurrentTasks: 3 } })).status()).toBe(200);
  expect((await page.request.patch(`/api/v1/repositories/${repo.id}`, { data: { version: 1, maxConcurrentTasks: 5 } })).status()).toBe(409);
  const def = (await list()).find((r) => r.isDefault)!;

  const viewer = uniqueEmail('repo-viewer');
  expect((await page.request.post('/api/v1/users', { data: { email: viewer, name: 'v', role: 'Viewer', password: 'a-long-password-9' } })).status()).toBe(201);
  await logout(page);
  await login(page, viewer, 'a-long-password-9');
  expect((await page.request.get('/api/v1/repositories')).status()).toBe(200);
  expect((await page.request.post('/api/v1/repositories', { data: { name: 'v', path: '/srv/v' } })).status()).toBe(403);
  expect((await page.request.delete(`/api/v1/repositories/${repo.id}`)).status()).toBe(403);
  expect((await page.request.put('/api/v1/settings/processing', { data: { mode: 'sequential', version: 0 } })).status()).toBe(403);
  await logout(page);

  await login(page, admin.email, admin.password);
  expect((await page.request.delete(`/api/v1/repositories/${repo.id}`)).status()).toBe(204);
  // The default repository is used by jobs of other tests or holds points; when it is, it stays.
  const removeDefault = await page.request.delete(`/api/v1/repositories/${def.id}`);
  if (removeDefault.status() !== 204) expect(removeDefault.status()).toBe(409);
});

test('sessions: unknown ids are 404, a Viewer may not stop or retry, processing mode round-trips', async ({ page }) => {
  await login(page, admin.email, admin.password);
  const missing = '00000000-0000-4000-8000-000000000000';
  expect((await page.request.get(`/api/v1/sessions/${missing}`)).status()).toBe(404);
  expect((await page.request.get('/api/v1/sessions/not-a-uuid')).status()).toBe(404);
  expect((await page.request.post(`/api/v1/sessions/${missing}/stop`)).status()).toBe(404);
  expect((await page.request.get('/api/v1/sessions?status=bogus')).status()).toBe(400);
  const sessions = await (await page.request.get('/api/v1/sessions?perPage=5')).json();
  expect(sessions).toMatchObject({ page: 1, perPage: 5 });
  expect((await page.request.post(`/api/v1/vms/${missing}/quick-backup`)).status()).toBe(404);

  const processing = await (await page.request.get('/api/v1/settings/processing')).json();
  const saved = await page.request.put('/api/v1/settings/processing', { data: { mode: processing.mode, version: processing.version } });
  expect(saved.status()).toBe(200);
  expect((await page.request.put('/api/v1/settings/processing', { data: { mode: 'sequential', version: processing.version } })).status()).toBe(409);
  expect((await page.request.put('/api/v1/settings/processing', { data: { mode: 'fastest', version: 1 } })).status()).toBe(400);

  const viewer = uniqueEmail('sess-viewer');
  expect((await page.request.post('/api/v1/users', { data: { email: viewer, name: 'v', role: 'Viewer', password: 'a-long-password-9' } })).status()).toBe(201);
  await logout(page);
  await login(page, viewer, 'a-long-password-9');
  expect((await page.request.get('/api/v1/sessions')).status()).toBe(200);
  expect((await page.request.post(`/api/v1/sessions/${missing}/stop`)).status()).toBe(403);
  expect((await page.request.post(`/api/v1/sessions/${missing}/retry`)).status()).toBe(403);
  expect((await page.request.post(`/api/v1/vms/${missing}/quick-backup`)).status()).toBe(403);
});
