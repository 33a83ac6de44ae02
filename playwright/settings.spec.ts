import { expect, test } from '@playwright/test';
import { startSmtpSink } from '../packages/notifications/test/smtp-sink';
import { admin, attachScreenshot, login, logout, uniqueEmail } from './helpers';

test('an administrator sets up email and a test email arrives at a real SMTP server', async ({ page }, testInfo) => {
  const sink = await startSmtpSink();
  try {
    await login(page, admin.email, admin.password);
    await page.goto('/settings/email');
    const form = page.getByRole('form', { name: 'SMTP settings' });
    await form.getByLabel('SMTP server').fill('127.0.0.1');
    await form.getByLabel('Port').fill(String(sink.port));
    await form.getByLabel('Security').selectOption('none');
    await form.getByLabel('Sender address').fill('strongbox@e2e.test');
    await form.getByLabel(/Recipients/).fill('ops@e2e.test');
    await form.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByRole('status')).toHaveText('Saved.');

    const to = uniqueEmail('inbox');
    const testForm = page.getByRole('form', { name: 'Test email' });
    await testForm.getByLabel(/test email to/).fill(to);
    await testForm.getByRole('button', { name: 'Send test email' }).click();
    await expect(page.getByRole('status')).toHaveText(`Test email sent to ${to}.`);
    await attachScreenshot(page, testInfo, 'email-settings');
    const mail = sink.received.find((m) => m.to.includes(to));
    expect(mail?.from).toBe('strongbox@e2e.test');
    expect(mail?.raw).toMatch(/^Subject: Strongbox test email$/m);

    // The API never shows the password, and a stale save is refused.
    const current = await (await page.request.get('/api/v1/settings/smtp')).json();
    expect(JSON.stringify(current)).not.toContain('password"');
    const stale = await page.request.put('/api/v1/settings/smtp', {
      data: { ...current.settings, hasPassword: undefined, version: current.version - 1 },
    });
    expect(stale.status()).toBe(409);
  } finally {
    await sink.close();
  }
});

test('bad SMTP input is refused naming the field, and a Viewer may not change settings', async ({ page }) => {
  await login(page, admin.email, admin.password);
  const bad = await page.request.put('/api/v1/settings/smtp', {
    data: { version: 0, enabled: true, host: '', port: 70000, security: 'starttls', from: 'not-an-email', to: [] },
  });
  expect(bad.status()).toBe(400);
  const fields = (await bad.json()).error.details.fields.map((f: { field: string }) => f.field).sort();
  expect(fields).toEqual(['from', 'host', 'port']);

  const viewer = { email: uniqueEmail('viewer'), password: 'viewer-password-2' };
  expect((await page.request.post('/api/v1/users', { data: { ...viewer, name: 'V', role: 'Viewer' } })).status()).toBe(201);
  await logout(page);
  await login(page, viewer.email, viewer.password);
  const put = await page.request.put('/api/v1/settings/smtp', {
    data: { version: 0, enabled: true, host: 'smtp.e2e.test', port: 25, security: 'none', from: 'a@e2e.test', to: [] },
  });
  expect(put.status()).toBe(403);
  expect((await page.goto('/settings/email'))?.status()).toBe(403);
});

test('the Infrastructure page shows the running mover online', async ({ page }, testInfo) => {
  await login(page, admin.email, admin.password);
  await page.getByRole('link', { name: 'Infrastructure' }).click();
  const mover = page.locator('[data-testid^="mover-"]').first();
  await expect(mover).toContainText('online');
  await attachScreenshot(page, testInfo, 'infrastructure');
});
