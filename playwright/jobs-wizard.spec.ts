import { expect, test } from '@playwright/test';
import { seedInventory } from './db';
import { admin, attachScreenshot, login } from './helpers';

test('the wizard creates a job, refusing a schedule at 25:00 with the field named', async ({ page }, testInfo) => {
  const inv = await seedInventory('wiz', ['app-01', 'app-02']);
  await login(page, admin.email, admin.password);
  const connections = (await (await page.request.get('/api/v1/connections')).json()).data as { id: string; name: string }[];
  const connName = connections.find((c) => c.id === inv.connectionId)!.name;
  const name = `Wizard ${Date.now()}`;

  await page.getByRole('link', { name: 'Jobs' }).click();
  await page.getByRole('link', { name: 'New backup job' }).click();
  await page.getByLabel('Job name').fill(name);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Hypervisor connection').selectOption({ label: connName });
  await page.getByLabel('Back up app-01').check();
  await page.getByLabel('Name pattern').fill('app-*');
  await expect(page.getByText('Now matches: app-01, app-02')).toBeVisible();
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page.getByTestId('objects-count')).toHaveText('2 object(s) chosen');
  await attachScreenshot(page, testInfo, 'wizard-objects');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Times', { exact: true }).fill('25:00');
  await page.getByLabel('Times', { exact: true }).blur();
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByTestId('job-summary')).toContainText('app-01');
  await page.getByRole('button', { name: 'Create job' }).click();
  await expect(page.getByRole('main').getByRole('alert')).toContainText('schedule.times.0');
  await attachScreenshot(page, testInfo, 'wizard-error');

  await page.getByRole('button', { name: 'Back' }).click();
  await page.getByLabel('Times', { exact: true }).fill('21:30');
  await page.getByLabel('Times', { exact: true }).blur();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('button', { name: 'Create job' }).click();
  await expect(page).toHaveURL(/\/jobs$/);
  await expect(page.getByTestId(`job-${name}`)).toContainText('21:30 on Mon Tue Wed Thu Fri');
  await attachScreenshot(page, testInfo, 'jobs-list');
});

test('an editor whose job was saved by someone else meanwhile gets a reload prompt, not an overwrite', async ({ page }) => {
  const inv = await seedInventory('edit', ['edit-01']);
  await login(page, admin.email, admin.password);
  const created = await (
    await page.request.post('/api/v1/jobs', {
      data: {
        name: `Edited ${Date.now()}`,
        connectionId: inv.connectionId,
        repositoryId: inv.repositoryId,
        objects: [{ type: 'vm', vmId: inv.vmIds[0] }],
        retention: { keepPoints: 3 },
        schedule: { kind: 'manual' },
      },
    })
  ).json();
  await page.goto(`/jobs/${created.id}/edit`);
  await page.getByLabel('Description').fill('mine');

  // Meanwhile another administrator saves.
  const { id, version, nextRunAt: _n, createdAt: _c, updatedAt: _u, ...spec } = created;
  expect((await page.request.put(`/api/v1/jobs/${id}`, { data: { ...spec, description: 'theirs', version } })).status()).toBe(200);

  for (let i = 0; i < 5; i++) await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('button', { name: 'Save job' }).click();
  await expect(page.getByRole('main').getByRole('alert')).toContainText('Someone else saved this job');
  await page.getByRole('button', { name: 'Reload the job' }).click();
  await expect(page.getByLabel('Description')).toHaveValue('theirs');
});
