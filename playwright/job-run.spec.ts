import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { admin, attachScreenshot, lab, login, tsx } from './helpers';

// The start answers with the session it made, and the console opens it.
async function runJob(page: Page, jobName: string): Promise<void> {
  await page.getByRole('link', { name: 'Jobs' }).click();
  await page.getByTestId(`job-${jobName}`).getByRole('button', { name: 'Start' }).click();
  await expect(page).toHaveURL(/\/sessions\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  await expect(page.getByTestId('session')).toBeVisible();
}

test('a job for 3 lab VMs runs, live, to success; the second run reads only what changed and restores byte-identical', async ({ page }, testInfo) => {
  test.setTimeout(600_000);
  const tag = randomBytes(3).toString('hex');
  const names = [`sblab-e2a-${tag}`, `sblab-e2b-${tag}`, `sblab-e2c-${tag}`];
  lab('vm', names[0]!, '48');
  lab('vm', names[1]!, '48', '24');
  lab('vm', names[2]!, '48');
  try {
    await login(page, admin.email, admin.password);
    await page.getByRole('link', { name: 'Infrastructure' }).click();
    await page.getByRole('button', { name: 'Add connection' }).click();
    const form = page.getByRole('form', { name: 'Add connection' });
    const connName = `KVM ${tag}`;
    await form.getByLabel('Name').fill(connName);
    await form.getByLabel('libvirt URI').fill('qemu:///system');
    await form.getByRole('button', { name: 'Save connection' }).click();
    await expect(page.getByTestId(`connection-${connName}`)).not.toContainText('reading…', { timeout: 60_000 });
    await page.getByRole('link', { name: 'Inventory' }).click();
    for (const n of names) await expect(page.getByTestId(`vm-${n}`)).toBeVisible();

    const jobName = `E2E run ${tag}`;
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByRole('link', { name: 'New backup job' }).click();
    await page.getByLabel('Job name').fill(jobName);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Hypervisor connection').selectOption({ label: connName });
    for (const n of names) await page.getByLabel(`Back up ${n}`).check();
    await attachScreenshot(page, testInfo, 'wizard-vms');
    for (let i = 0; i < 3; i++) await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Run the job').selectOption('manual');
    await page.getByRole('button', { name: 'Next' }).click();
    await attachScreenshot(page, testInfo, 'wizard-summary');
    await page.getByRole('button', { name: 'Create job' }).click();
    await expect(page).toHaveURL(/\/jobs$/);

    // A write limit on the repository keeps the first run slow enough to watch it move.
    const repos = (await (await page.request.get('/api/v1/repositories')).json()).data as { id: string; isDefault: boolean; path: string; version: number }[];
    const repo = repos.find((r) => r.isDefault)!;
    const limited = await (await page.request.patch(`/api/v1/repositories/${repo.id}`, { data: { version: repo.version, writeRateLimitMiBs: 2 } })).json();
    await runJob(page, jobName);
    const session = page.getByTestId('session');
    await expect(session.getByRole('progressbar', { name: `${names[1]} vdb` })).toBeVisible();
    const bar = session.getByRole('progressbar', { name: 'session progress' });
    await expect(bar).toHaveAttribute('aria-valuenow', /^([1-9]|[1-9]\d)$/, { timeout: 60_000 });
    await expect(session.getByTestId('bottleneck')).toHaveText('Throttling');
    await attachScreenshot(page, testInfo, 'session-running');
    await page.request.patch(`/api/v1/repositories/${repo.id}`, { data: { version: limited.version, writeRateLimitMiBs: null } });
    await expect(page.getByTestId('session-percent')).toHaveText('100%', { timeout: 180_000 });
    await expect(session.locator('header [data-status]')).toHaveAttribute('data-status', 'success', { timeout: 60_000 });
    await expect(session.getByTestId('bottleneck')).not.toHaveText('—');
    // The throughput chart has a curve, drawn from the movers' per-second samples.
    await expect(session.getByTestId('throughput-chart').locator('.recharts-area-area')).toBeVisible();
    await attachScreenshot(page, testInfo, 'session-done');

    await page.getByRole('link', { name: 'Backups' }).click();
    for (const n of names) await expect(page.getByTestId(`points-${n}`).getByTestId('restore-point')).toHaveCount(1);

    // The guest writes 1 MiB at 4 MiB; the next run reads only that.
    lab('write', names[0]!, 'vda', '4096', '1024', 'random');
    await runJob(page, jobName);
    await expect(session.locator('header [data-status]')).toHaveAttribute('data-status', 'success', { timeout: 180_000 });
    const changed = page.getByTestId(`task-${names[0]}-vda`);
    await expect(changed).toContainText('changed blocks only');
    await expect(changed.getByTestId('read')).toHaveText('1.0 MiB');
    await attachScreenshot(page, testInfo, 'session-incremental');

    // Home shows today's two successful runs of this job among the last days' results.
    await page.getByRole('link', { name: 'Home' }).click();
    await expect(page.getByTestId('daily-results-chart').locator('.recharts-bar-rectangle').first()).toBeVisible();
    // And each repository's health: the default one has points but no health check yet.
    await expect(page.getByTestId('health-Default Backup Repository')).toContainText('not checked yet');
    await attachScreenshot(page, testInfo, 'home-chart');

    // Every disk of the latest points restores to what the guest reads.
    const repoPath = repo.path;
    const points = (await (await page.request.get('/api/v1/restore-points?perPage=200')).json()).data as {
      vmName: string;
      path: string;
      kind: string;
      disks: { name: string; size: number }[];
    }[];
    for (const n of names) {
      const latest = points.find((p) => p.vmName === n)!;
      expect(latest.kind).toBe('incremental');
      for (const disk of latest.disks) {
        const restored = tsx(
          'scripts/restore-disk.ts',
          '--repo',
          repoPath,
          '--point',
          latest.path,
          '--disk',
          disk.name,
          '--out',
          join(tmpdir(), `e2e-${tag}-${disk.name}.raw`),
          '--md5',
        );
        expect(restored, `${n} ${disk.name}`).toBe(lab('md5', n, disk.name, '0', String(disk.size / 1024)));
      }
    }
  } finally {
    lab('rm', ...names);
  }
});
