import { randomBytes } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { admin, attachScreenshot, lab, login } from './helpers';

test('an administrator adds the local libvirt and sees the lab VMs in the inventory', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  // A real VM under the local libvirt (the lab installs and starts what is missing), removed after.
  const vmName = `sblab-inv-${randomBytes(3).toString('hex')}`;
  lab('vm', vmName, '16');
  try {
    await login(page, admin.email, admin.password);
    await page.getByRole('link', { name: 'Infrastructure' }).click();
    await page.getByRole('button', { name: 'Add connection' }).click();
    const form = page.getByRole('form', { name: 'Add connection' });
    const name = `Local KVM ${Date.now()}`;
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('libvirt URI').fill('qemu:///system');
    await form.getByRole('button', { name: 'Save connection' }).click();
    const row = page.getByTestId(`connection-${name}`);
    await expect(row).toBeVisible();
    // The controller reads the inventory; the page follows until it is done.
    await expect(row).not.toContainText('reading…', { timeout: 60_000 });
    await expect(row).not.toContainText('failed');
    await attachScreenshot(page, testInfo, 'connections');

    await page.getByRole('link', { name: 'Inventory' }).click();
    const vm = page.getByTestId(`vm-${vmName}`);
    await expect(vm).toBeVisible();
    await expect(vm).toContainText(name);
    await expect(vm).toContainText('vda');
    await attachScreenshot(page, testInfo, 'inventory');

    // Bad input changes nothing.
    const bad = await page.request.post('/api/v1/connections', { data: { name: 'x', uri: 'http://kvm1' } });
    expect(bad.status()).toBe(400);
    expect((await bad.json()).error.details.fields[0].field).toBe('uri');
  } finally {
    lab('rm', vmName);
  }
});
