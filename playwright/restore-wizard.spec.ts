import { randomBytes, randomUUID } from 'node:crypto';
import { expect, test, type Page } from '@playwright/test';
import { seedInventory, sql } from './db';
import { admin, attachScreenshot, login, logout, uniqueEmail } from './helpers';

// The Restore area without lab VMs: catalog rows, storage pools, a mover that sees the
// repository and instant recoveries are written to the console's database as the worker
// would write them. No restore here reaches a hypervisor: the seeded mover has no process
// (what it is given waits until it is found dead, then ends), and the seeded points are in
// no store. It looks alive only while a start is asked (a start refuses a repository no live
// mover sees), so that the controller hands it nothing of other tests' runs.

const MiB = 2 ** 20;
const DISKS = JSON.stringify([{ name: 'vda', size: 4 * MiB, blockSize: MiB, codec: 'fast', newBytes: 2 * MiB, storedBytes: MiB, blocks: 4, zeroBlocks: 2 }]);

/** A VM with two points (full, then incremental) in the default repository, two pools, and a mover that sees the repository. */
async function seedCatalog(tag: string) {
  const vmName = `rw-${tag}`;
  const inv = await seedInventory(`rw-${tag}`, [vmName, `${vmName}-other`], { disks: true });
  const pools = [
    ['default', '/var/lib/libvirt/images', 50 * 1024 * MiB],
    ['tiny', '/srv/tiny', MiB],
  ] as const;
  for (const [name, path, free] of pools)
    await sql(`INSERT INTO "StoragePool" (id, "connectionId", name, type, path, "capacityBytes", "availableBytes") VALUES ($1, $2, $3, 'dir', $4, $5, $5)`, [
      randomUUID(),
      inv.connectionId,
      name,
      path,
      free,
    ]);
  const moverId = randomUUID();
  await sql(
    `INSERT INTO "Mover" (id, name, "hostName", site, cores, "maxConcurrentTasks", "softwareVersion", "lastHeartbeatAt", "repositoryIds")
     VALUES ($1, $2, 'e2e-nowhere', 'default', 2, 2, 'e2e', 'epoch', ARRAY[$3::uuid])`,
    [moverId, `e2e-restore-mover-${tag}`, inv.repositoryId],
  );
  const point = async (kind: string, time: string) => {
    const id = randomUUID();
    await sql(`INSERT INTO "RestorePoint" (id, "repositoryId", "vmId", "vmName", time, kind, path, disks) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
      id,
      inv.repositoryId,
      inv.vmIds[0],
      vmName,
      time,
      kind,
      `points/e2e-${tag}/${time}`,
      DISKS,
    ]);
    return id;
  };
  const full = await point('full', '2026-12-01T10:00:00Z');
  const incremental = await point('incremental', '2026-12-01T12:00:00Z');
  return { ...inv, vmName, moverId, full, incremental };
}

/** `action` (a start) with the seeded mover looking alive; then it looks dead again. */
async function whileOnline<T>(moverId: string, action: () => Promise<T>): Promise<T> {
  await sql(`UPDATE "Mover" SET "lastHeartbeatAt" = now() WHERE id = $1`, [moverId]);
  try {
    return await action();
  } finally {
    await sql(`UPDATE "Mover" SET "lastHeartbeatAt" = 'epoch' WHERE id = $1`, [moverId]);
  }
}
/** After the test: what it was given is reclaimed and ends, and it takes nothing more. */
const retire = (moverId: string) => sql(`UPDATE "Mover" SET "lastHeartbeatAt" = 'epoch', enabled = false WHERE id = $1`, [moverId]);

const next = (page: Page) => page.getByTestId('restore-next').click();

test('the wizard restores a VM as a new VM: found by name, a pool too small refused by its field, then the session', async ({ page }, testInfo) => {
  const tag = randomBytes(3).toString('hex');
  const seed = await seedCatalog(tag);
  try {
    await login(page, admin.email, admin.password);
    await page.getByRole('link', { name: 'Restore' }).click();
    await page.getByTestId('restore-search').fill(`rw-${tag}`);
    await page.getByTestId(`restore-vm-${seed.vmName}`).click();
    // Newest first.
    const rows = page.locator('[data-testid^="restore-point-"]');
    await expect(rows).toHaveCount(2);
    await expect(rows.first()).toHaveAttribute('data-testid', `restore-point-${seed.incremental}`);
    await page.getByTestId(`restore-point-${seed.incremental}`).check();
    await next(page);
    await expect(page.getByTestId('restore-what-files')).toBeDisabled();
    await page.getByTestId('restore-what-vm').check();
    await next(page);
    await page.getByTestId('restore-mode-new').check();
    await expect(page.getByTestId('restore-name')).toHaveValue(`${seed.vmName}-restored`);
    await page.getByTestId('restore-name').fill(`${seed.vmName}-copy`);
    await expect(page.getByTestId('restore-pool').locator('option')).toHaveCount(2);
    await page.getByTestId('restore-pool').selectOption('tiny');
    await page.getByTestId('restore-networks').selectOption('disconnected');
    await next(page);
    await expect(page.getByTestId('restore-summary')).toContainText(`new VM ${seed.vmName}-copy`);
    await whileOnline(seed.moverId, async () => {
      await page.getByTestId('restore-start').click();
      // Refused: back at the target step, the reason beside the pool.
      await expect(page.getByTestId('error-pool')).toContainText('1 MiB free, the disks need 2 MiB');
    });
    await attachScreenshot(page, testInfo, 'restore-refused');
    await page.getByTestId('restore-pool').selectOption('default');
    await next(page);
    await whileOnline(seed.moverId, async () => {
      await page.getByTestId('restore-start').click();
      await expect(page).toHaveURL(/\/sessions\/[0-9a-f-]{36}$/);
    });
    await expect(page.getByTestId('restore-kind')).toHaveText('Entire VM restore (new VM)');
    await expect(page.getByTestId('restore-target')).toContainText(`new VM ${seed.vmName}-copy, disks in pool default (qcow2)`);
    await expect(page.getByTestId('restore-request')).toContainText('networks disconnected');
    await attachScreenshot(page, testInfo, 'restore-session');
  } finally {
    await retire(seed.moverId);
  }
});

test("the Backups page's Restore… opens the wizard on the point; an in-place restore waits for its confirmation; a Viewer may not start one", async ({
  page,
}) => {
  const tag = randomBytes(3).toString('hex');
  const seed = await seedCatalog(tag);
  try {
    await login(page, admin.email, admin.password);
    await page.goto('/backups');
    await page.getByTestId(`restore-from-${seed.full}`).click();
    await expect(page).toHaveURL(new RegExp(`/restore\\?point=${seed.full}$`));
    await page.getByTestId('restore-what-vm').check();
    await next(page);
    await page.getByTestId('restore-mode-original').check();
    await expect(page.getByTestId('restore-quick-rollback')).toBeChecked();
    await expect(page.getByTestId('restore-next')).toBeDisabled();
    await page.getByTestId('restore-confirm').check();
    await next(page);
    await expect(page.getByTestId('restore-summary')).toContainText('its disks are overwritten');
    await expect(page.getByTestId('restore-summary')).toContainText('Quick rollback');
    await page.getByTestId('restore-back').click();
    await page.getByTestId('restore-back').click();
    // Virtual disks offer the point's disks, all chosen.
    await page.getByTestId('restore-what-disks').check();
    await next(page);
    await expect(page.getByTestId('restore-disk-vda')).toBeChecked();

    const viewer = uniqueEmail('restore-viewer');
    expect((await page.request.post('/api/v1/users', { data: { email: viewer, name: 'v', role: 'Viewer', password: 'a-long-password-9' } })).status()).toBe(
      201,
    );
    await logout(page);
    await login(page, viewer, 'a-long-password-9');
    await page.goto(`/restore?point=${seed.full}`);
    await expect(page.getByTestId('restore-wizard')).toHaveCount(0);
    await expect(page.getByText('Your role may see restores but not start them')).toBeVisible();
    const refused = await page.request.post('/api/v1/restores', { data: { kind: 'vm-original', pointId: seed.full, confirmOverwrite: true } });
    expect(refused.status()).toBe(403);
  } finally {
    await retire(seed.moverId);
  }
});

test('instant recoveries: listed with what they serve; migrate to production asks the pool; stop publishing asks to confirm', async ({ page }, testInfo) => {
  const tag = randomBytes(3).toString('hex');
  const seed = await seedCatalog(tag);
  try {
    await login(page, admin.email, admin.password);
    // A real restore session for the recoveries to belong to.
    const started = await whileOnline(seed.moverId, () =>
      page.request.post('/api/v1/restores', { data: { kind: 'instant', pointId: seed.full, name: `ir-${tag}`, connectionId: seed.connectionId } }),
    );
    expect(started.status()).toBe(202);
    const { sessionId } = await started.json();
    const running = `ir-${tag}`;
    const broken = `ir-${tag}-broken`;
    for (const [vmName, state, error] of [
      [running, 'running', null],
      [broken, 'broken', 'the mover lost the export: stop publishing to clean up'],
    ] as const)
      await sql(
        `INSERT INTO "InstantRecovery" (id, "sessionId", "moverId", "connectionId", "pointId", "vmName", state, error, "bytesServed", "overlayBytes", "runningAt", "updatedAt")
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), now())`,
        [randomUUID(), sessionId, seed.moverId, seed.connectionId, seed.full, vmName, state, error, 3 * MiB, MiB],
      );
    await page.goto('/restore');
    const row = page.getByTestId(`instant-row-${running}`);
    await expect(row).toContainText('running');
    await expect(row).toContainText('3.0 MiB');
    await expect(page.getByTestId(`instant-row-${broken}`)).toContainText('the mover lost the export');
    await expect(page.getByTestId(`instant-migrate-${broken}`)).toHaveCount(0);

    await page.getByTestId(`instant-migrate-${running}`).click();
    await page.getByTestId('instant-migrate-pool').selectOption('default');
    await attachScreenshot(page, testInfo, 'instant-migrate');
    await page.getByTestId('instant-confirm').click();
    await expect(row).toContainText('migrating');
    await expect(page.getByTestId(`instant-stop-${running}`)).toHaveCount(0);

    await page.getByTestId(`instant-stop-${broken}`).click();
    await page.getByTestId('instant-confirm').click();
    await expect(page.getByTestId(`instant-row-${broken}`)).toContainText('stopping');
  } finally {
    await sql(`UPDATE "InstantRecovery" SET state = 'stopped', "endedAt" = now() WHERE "moverId" = $1`, [seed.moverId]);
    await retire(seed.moverId);
  }
});
