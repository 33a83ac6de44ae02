import { expect, test } from '@playwright/test';
import { admin, attachScreenshot, login, logout, uniqueEmail } from './helpers';

test('an administrator adds a Viewer, who may not manage users', async ({ page }, testInfo) => {
  await login(page, admin.email, admin.password);
  await expect(page.getByTestId('status-database')).toContainText('OK');
  await expect(page.getByTestId('status-redis')).toContainText('OK');
  await attachScreenshot(page, testInfo, 'home');

  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('link', { name: /Users and roles/ }).click();
  await page.getByRole('button', { name: 'Add user' }).click();
  const viewer = { email: uniqueEmail('viewer'), password: 'viewer-password-1' };
  const form = page.getByRole('form', { name: 'Add user' });
  await form.getByLabel('Email').fill(viewer.email);
  await form.getByLabel('Name').fill('E2E Viewer');
  await form.getByLabel('Role').selectOption('Viewer');
  await form.getByLabel(/Password/).fill(viewer.password);
  await form.getByRole('button', { name: 'Save user' }).click();
  const row = page.getByTestId(`user-row-${viewer.email}`);
  await expect(row).toBeVisible();
  await expect(row.getByRole('combobox')).toHaveValue('Viewer');
  await attachScreenshot(page, testInfo, 'users');
  await logout(page);

  await login(page, viewer.email, viewer.password);
  await expect(page.getByRole('link', { name: /Users and roles/ })).toHaveCount(0);
  const response = await page.goto('/settings/users');
  expect(response?.status()).toBe(403);
  await expect(page.getByRole('heading', { name: /403/ })).toBeVisible();
  await attachScreenshot(page, testInfo, 'viewer-403');

  const api = await page.request.post('/api/v1/users', {
    data: { email: uniqueEmail('nope'), name: 'x', role: 'Administrator', password: 'long-enough-pw-1' },
  });
  expect(api.status()).toBe(403);
  expect((await api.json()).error.code).toBe('FORBIDDEN');
  // What a Viewer may do, it can: read who it is.
  expect((await (await page.request.get('/api/v1/me')).json()).role).toBe('Viewer');
});

test('every /api/v1 operation but health refuses an unauthenticated call with 401', async ({ request }) => {
  const health = await request.get('/api/v1/health');
  expect(health.status()).toBe(200);
  const body = await health.json();
  expect(body.database.status).toBe('ok');
  expect(body.redis.status).toBe('ok');

  const doc = await (await request.get('/api/v1/openapi.json')).json();
  const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => ({ path, method })),
  );
  expect(operations.length).toBeGreaterThan(10);
  for (const { path, method } of operations) {
    if (path === '/health') continue;
    const url = `/api/v1${path.replace('{id}', '00000000-0000-4000-8000-000000000000')}`;
    const response = await request.fetch(url, { method: method.toUpperCase(), data: method === 'get' || method === 'delete' ? undefined : {} });
    expect(response.status(), `${method.toUpperCase()} ${path}`).toBe(401);
    expect((await response.json()).error.code).toBe('UNAUTHORIZED');
  }
});

test('a wrong password is refused without saying which part was wrong, then rate-limited', async ({ page, request }) => {
  const email = uniqueEmail('victim');
  const password = 'right-password-12';
  const created = await request.post('/api/v1/users', {
    headers: { authorization: `Bearer ${await adminToken(page)}` },
    data: { email, name: 'Victim', role: 'Viewer', password },
  });
  expect(created.status()).toBe(201);

  const attempt = async (e: string, p: string) => {
    await page.goto('/login');
    await page.getByLabel('Email').fill(e);
    await page.getByLabel('Password').fill(p);
    await page.getByRole('button', { name: 'Log in' }).click();
    // Next's route announcer is an alert too; ours is the form's.
    return page.locator('form').getByRole('alert');
  };
  await expect(await attempt(email, 'wrong-password-1')).toHaveText('Invalid email or password.');
  await expect(await attempt(uniqueEmail('nobody'), 'wrong-password-1')).toHaveText('Invalid email or password.');
  for (let i = 0; i < 4; i++) await expect(await attempt(email, `wrong-${i}-password`)).toHaveText('Invalid email or password.');
  // Five failures for this email: now even the right password waits.
  await expect(await attempt(email, password)).toContainText('Too many failed attempts');
  await expect(page).toHaveURL(/\/login/);
});

test('API tokens work as Bearer and stop working once revoked; a logout ends the session', async ({ page, browser }) => {
  await login(page, admin.email, admin.password);
  await page.goto('/settings/tokens');
  await page.getByLabel('Token name').fill('e2e-cli');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = (await page.getByTestId('new-token').locator('code').textContent())!.trim();
  expect(token).toMatch(/^sbx_/);

  const fresh = await browser.newContext();
  const me = await fresh.request.get(`${process.env.E2E_BASE_URL}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  expect(me.status()).toBe(200);
  expect((await me.json()).email).toBe(admin.email);

  await page.getByRole('listitem').filter({ hasText: 'e2e-cli' }).getByRole('button', { name: 'Revoke' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'e2e-cli' })).toContainText('revoked');
  const after = await fresh.request.get(`${process.env.E2E_BASE_URL}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  expect(after.status()).toBe(401);

  // The browser's session cookie, replayed after logout, is refused: the login row is revoked.
  const cookies = await page.context().cookies();
  await logout(page);
  const replay = await browser.newContext();
  await replay.addCookies(cookies);
  expect((await replay.request.get(`${process.env.E2E_BASE_URL}/api/v1/me`)).status()).toBe(401);
  await fresh.close();
  await replay.close();
});

/** Logs the admin in on a throwaway page and creates a token for API set-up. */
async function adminToken(page: import('@playwright/test').Page): Promise<string> {
  await login(page, admin.email, admin.password);
  const response = await page.request.post('/api/v1/tokens', { data: { name: `setup-${Date.now()}` } });
  expect(response.status()).toBe(201);
  const { token } = await response.json();
  await logout(page);
  return token;
}
