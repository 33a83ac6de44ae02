import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { expect, type Page, type TestInfo } from '@playwright/test';

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

const root = join(import.meta.dirname, '..');

/** Runs one of the project's TypeScript scripts (as `pnpm` would), returning its output. */
export const tsx = (script: string, ...args: string[]) =>
  execFileSync(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), join(root, script), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 280_000,
  }).trim();

/** The lab's command line (scripts/lab/cli.ts): real VMs, guest writes and reads. */
export const lab = (...args: string[]) => tsx('scripts/lab/cli.ts', ...args);

/** `virsh` on the lab's libvirt, returning its output; throws (with virsh's message) when it fails. */
export const virsh = (...args: string[]) =>
  execFileSync('virsh', ['-c', 'qemu:///system', ...args], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/**
 * Waits until a lab VM's guest answers on its console (one just powered on boots for a
 * while under TCG, longer than the lab CLI's own wait).
 */
export async function waitForGuest(vm: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      lab('md5', vm, 'vda', '0', '4');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`the guest of ${vm} did not answer within ${timeoutMs / 1000} s`, { cause: error });
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
}
