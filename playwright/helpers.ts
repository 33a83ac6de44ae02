import { expect, type Page, type TestInfo } from '@playwright/test';
import { randomBytes } from 'node:crypto';

export const admin = {
  email: process.env.E2E_ADMIN_EMAIL ?? 'admin@strongbox.local',
  password: process.env.E2E_ADMIN_PASSWORD ?? '',
};

/** Unique per test, so that tests never share users or rate-limit counters. */
export function uniqueEmail(tag: string): string {
  return `${tag}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}@e2e.test`;
}

export async function login(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('current-user')).toHaveText(email);
}

export async function logout(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login/);
}

export async function attachScreenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  // The pointer, left where the last click was, would hold a chart's tooltip open.
  await page.mouse.move(0, 0);
  await testInfo.attach(name, { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' });
}
