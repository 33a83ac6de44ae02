import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { sql } from './db';
import { admin, attachScreenshot, lab, login, virsh, waitForGuest } from './helpers';

// Restores of a real lab VM through the wizard, each checked by what the restored guest
// reads on its disks: a new VM and a quick rollback from the older point, an instant
// recovery of the newer one migrated to production, and one whose publishing is stopped.

const DISKS = { vda: 24, vdb: 16 } as const; // MiB
const POOL = 'sblab-pool';
type Md5s = Record<keyof typeof DISKS, string>;

/** What the guest reads on each whole disk. */
const md5s = (vm: string): Md5s => ({
  vda: lab('md5', vm, 'vda', '0', String(DISKS.vda * 1024)),
  vdb: lab('md5', vm, 'vdb', '0', String(DISKS.vdb * 1024)),
});

type Session = { id: string; status: string; endedAt: string | null; tasks: { diskName: string | null; unit: string; status: string; error: string | null }[] };

async function sessionLogs(request: APIRequestContext, id: string): Promise<string[]> {
  const lines: string[] = [];
  let after = '0';
  for (;;) {
    const page = (await (await request.get(`/api/v1/sessions/${id}/logs?after=${after}&take=1000`)).json()) as {
      data: { level: string; message: string }[];
      next: string;
    };
    lines.push(...page.data.map((l) => `${l.level}: ${l.message}`));
    if (page.data.length < 1000) return lines;
    after = page.next;
  }
}

/**
 * Waits for the session to end, read from the API; one that ends otherwise than in success
 * fails the test with its tasks' errors and its log (the record of a failure that is not the test's).
 */
async function expectSessionSuccess(page: Page, id: string, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let session: Session;
  for (;;) {
    session = (await (await page.request.get(`/api/v1/sessions/${id}`)).json()) as Session;
    if (session.endedAt) break;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const logs = await sessionLogs(page.request, id);
  const tasks = session.tasks.map((t) => `${t.diskName ?? t.unit}: ${t.status}${t.error ? ` (${t.error})` : ''}`);
  expect(session.status, `session ${id}: tasks ${tasks.join('; ')}\nlog:\n${logs.join('\n')}`).toBe('success');
  await expect(page.getByTestId('session').locator('header [data-status]')).toHaveAttribute('data-status', 'success', { timeout: 30_000 });
  return logs;
}

const sessionIdOf = (page: Page) => /\/sessions\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
const UUID_URL = /\/sessions\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function runJob(page: Page, jobName: string): Promise<string> {
  await page.getByRole('link', { name: 'Jobs' }).click();
  await page.getByTestId(`job-${jobName}`).getByRole('button', { name: 'Start' }).click();
  await expect(page).toHaveURL(UUID_URL);
  return sessionIdOf(page);
}

const next = (page: Page) => page.getByTestId('restore-next').click();

/** The wizard on a point of the VM, found by its name, at "What to restore". */
async function wizardOn(page: Page, vmName: string, pointId: string): Promise<void> {
  await page.goto('/restore');
  await page.getByTestId('restore-search').fill(vmName);
  await page.getByTestId(`restore-vm-${vmName}`).click();
  await page.getByTestId(`restore-point-${pointId}`).check();
  await next(page);
}

async function startRestore(page: Page): Promise<string> {
  await page.getByTestId('restore-start').click();
  await expect(page).toHaveURL(UUID_URL);
  return sessionIdOf(page);
}

type Recovery = { id: string; state: string; error: string | null; sessionId: string };

async function recoveryOf(request: APIRequestContext, vmName: string): Promise<Recovery | undefined> {
  const rows = (await (await request.get('/api/v1/instant-recoveries?all=1')).json()).data as (Recovery & { vmName: string })[];
  return rows.find((r) => r.vmName === vmName);
}

/** Waits while the recovery is in `passing` (an action under way), then expects `wanted`, with the session's log when not. */
async function expectRecoveryState(page: Page, vmName: string, passing: string, wanted: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let r = await recoveryOf(page.request, vmName);
  while (r?.state === passing && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    r = await recoveryOf(page.request, vmName);
  }
  const logs = r ? await sessionLogs(page.request, r.sessionId) : [];
  expect(r?.state, `${vmName}: ${r?.error ?? ''}\nlog:\n${logs.join('\n')}`).toBe(wanted);
}

/** Where the mover keeps the recovery's export socket and overlays (not in the API: read from its row). */
async function scratchOf(vmName: string): Promise<{ scratchDir: string; overlays: string[] }> {
  const [row] = await sql<{ scratchDir: string; disks: { overlay: string }[] }>(
    `SELECT "scratchDir", disks FROM "InstantRecovery" WHERE "vmName" = $1 ORDER BY "startedAt" DESC LIMIT 1`,
    [vmName],
  );
  expect(row?.scratchDir, `${vmName}'s scratch folder`).toBeTruthy();
  return { scratchDir: row!.scratchDir, overlays: row!.disks.map((d) => d.overlay) };
}

/** The files a VM's disks are, as libvirt has them now. */
const diskSources = (vm: string) =>
  virsh('domblklist', vm)
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols.length === 2)
    .map(([target, source]) => ({ target: target!, source: source! }));

test('restores of a lab VM through the wizard: new VM, quick rollback, instant recovery migrated, instant recovery stopped; each guest reads the point', async ({
  page,
}, testInfo) => {
  test.setTimeout(25 * 60_000);
  const tag = randomBytes(3).toString('hex');
  const name = `sblab-e2r-${tag}`;
  const newName = `sblab-e2rn-${tag}`;
  const instantName = `sblab-e2ri-${tag}`;
  const stoppedName = `sblab-e2rs-${tag}`;
  lab('vm', name, String(DISKS.vda), String(DISKS.vdb));
  // Undone in `finally` when the test fails while it is set.
  const limit: { undo?: () => Promise<unknown> } = {};
  try {
    const connName = `KVM ${tag}`;
    const jobName = `E2E restore ${tag}`;
    let first: Md5s;
    let second: Md5s;
    let points: { id: string; kind: string }[] = [];
    let connId = '';

    await test.step('two backups of a 2-disk VM, the guest writing before each', async () => {
      lab('write', name, 'vda', '0', '8192', 'random');
      lab('write', name, 'vdb', '0', '4096', 'random');
      first = md5s(name);
      await login(page, admin.email, admin.password);
      await page.getByRole('link', { name: 'Infrastructure' }).click();
      await page.getByRole('button', { name: 'Add connection' }).click();
      const form = page.getByRole('form', { name: 'Add connection' });
      await form.getByLabel('Name').fill(connName);
      await form.getByLabel('libvirt URI').fill('qemu:///system');
      await form.getByRole('button', { name: 'Save connection' }).click();
      const connection = page.getByTestId(`connection-${connName}`);
      await expect(connection).not.toContainText('reading…', { timeout: 60_000 });
      // The rescan reads the connection's storage pools too: the lab's must be there for the wizard.
      await connection.getByRole('button', { name: 'Rescan' }).click();
      connId = await connectionId(page.request, connName);
      await expect
        .poll(async () => ((await (await page.request.get(`/api/v1/connections/${connId}/pools`)).json()).data as { name: string }[]).map((p) => p.name), {
          timeout: 60_000,
        })
        .toContain(POOL);

      await page.getByRole('link', { name: 'Jobs' }).click();
      await page.getByRole('link', { name: 'New backup job' }).click();
      await page.getByLabel('Job name').fill(jobName);
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByLabel('Hypervisor connection').selectOption({ label: connName });
      await page.getByLabel(`Back up ${name}`).check();
      for (let i = 0; i < 3; i++) await page.getByRole('button', { name: 'Next' }).click();
      await page.getByLabel('Run the job').selectOption('manual');
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByRole('button', { name: 'Create job' }).click();
      await expect(page).toHaveURL(/\/jobs$/);

      await expectSessionSuccess(page, await runJob(page, jobName), 240_000);
      lab('write', name, 'vda', '4096', '1024', 'random');
      second = md5s(name);
      expect(second.vda).not.toBe(first.vda);
      await expectSessionSuccess(page, await runJob(page, jobName), 240_000);

      const all = (await (await page.request.get('/api/v1/restore-points?perPage=200')).json()).data as {
        id: string;
        vmName: string;
        kind: string;
        time: string;
      }[];
      points = all.filter((p) => p.vmName === name).sort((a, b) => a.time.localeCompare(b.time));
      expect(points.map((p) => p.kind)).toEqual(['full', 'incremental']);
    });
    const older = points[0]!;
    const newer = points[1]!;

    await test.step('(a) the entire VM as a new VM from the older point', async () => {
      await wizardOn(page, name, older.id);
      await page.getByTestId('restore-what-vm').check();
      await next(page);
      await page.getByTestId('restore-mode-new').check();
      await page.getByTestId('restore-name').fill(newName);
      await expect(page.getByTestId('restore-pool').locator(`option[value="${POOL}"]`)).toHaveCount(1);
      await page.getByTestId('restore-pool').selectOption(POOL);
      await page.getByTestId('restore-format').selectOption('qcow2');
      await page.getByTestId('restore-power-on').check();
      await attachScreenshot(page, testInfo, 'wizard-new-vm-target');
      await next(page);
      const summary = page.getByTestId('restore-summary');
      await expect(summary).toContainText(`new VM ${newName} on ${connName}`);
      await expect(summary).toContainText(`${POOL}`);
      await attachScreenshot(page, testInfo, 'wizard-new-vm-summary');

      // A read limit on the repository keeps the restore slow enough to watch it move.
      const repos = (await (await page.request.get('/api/v1/repositories')).json()).data as { id: string; isDefault: boolean; version: number }[];
      const repo = repos.find((r) => r.isDefault)!;
      const limited = (await (
        await page.request.patch(`/api/v1/repositories/${repo.id}`, { data: { version: repo.version, readRateLimitMiBs: 2 } })
      ).json()) as {
        version: number;
      };
      limit.undo = () => page.request.patch(`/api/v1/repositories/${repo.id}`, { data: { version: limited.version, readRateLimitMiBs: null } });
      const id = await startRestore(page);
      const session = page.getByTestId('session');
      await expect(session.getByTestId('restore-kind')).toHaveText('Entire VM restore (new VM)');
      await expect(session.getByRole('progressbar', { name: 'session progress' })).toHaveAttribute('aria-valuenow', /^([1-9]|[1-9]\d)$/, { timeout: 120_000 });
      await attachScreenshot(page, testInfo, 'restore-running');
      await limit.undo();
      delete limit.undo;
      await expectSessionSuccess(page, id, 300_000);
      await expect(page.getByTestId('session-percent')).toHaveText('100%');
      await attachScreenshot(page, testInfo, 'restore-new-vm-done');

      await waitForGuest(newName);
      expect(md5s(newName)).toEqual(first);
    });

    await test.step('(b) quick rollback of the original VM to the older point', async () => {
      // Written after the newer point: the VM's dirty bitmap since its checkpoint is not empty.
      lab('write', name, 'vdb', '2048', '512', 'random');
      await wizardOn(page, name, older.id);
      await page.getByTestId('restore-what-vm').check();
      await next(page);
      await page.getByTestId('restore-mode-original').check();
      await expect(page.getByTestId('restore-next')).toBeDisabled();
      await page.getByTestId('restore-confirm').check();
      await expect(page.getByTestId('restore-quick-rollback')).toBeChecked();
      await page.getByTestId('restore-power-on').check();
      await next(page);
      await expect(page.getByTestId('restore-summary')).toContainText('its disks are overwritten');
      await expect(page.getByTestId('restore-summary')).toContainText('Quick rollback');
      await attachScreenshot(page, testInfo, 'wizard-rollback-summary');
      const id = await startRestore(page);
      const logs = await expectSessionSuccess(page, id, 300_000);
      expect(
        logs.some((l) => /quick rollback: the VM has checkpoint \S+ of its latest point/.test(l)),
        logs.join('\n'),
      ).toBe(true);
      for (const disk of Object.keys(DISKS)) {
        const line = logs.map((l) => new RegExp(`${disk}: (\\d+) of (\\d+) block\\(s\\) can differ .*writing those only`).exec(l)).find(Boolean);
        expect(line, `${disk}'s quick rollback line in:\n${logs.join('\n')}`).toBeTruthy();
        const [, changed, all] = line!.map(Number);
        expect(changed).toBeGreaterThan(0);
        expect(changed).toBeLessThan(all!);
      }
      await expect(page.getByTestId('restore-result')).toContainText('quick rollback');
      await expect(page.getByTestId('log')).toContainText('quick rollback: the VM has checkpoint');
      await attachScreenshot(page, testInfo, 'restore-rollback-done');

      await waitForGuest(name);
      expect(md5s(name)).toEqual(first);
    });

    await test.step('(c) instant recovery of the newer point, then migrated to production', async () => {
      await wizardOn(page, name, newer.id);
      await page.getByTestId('restore-what-instant').check();
      await next(page);
      await page.getByTestId('restore-name').fill(instantName);
      await expect(page.getByTestId('restore-networks')).toHaveValue('disconnected');
      await next(page);
      await expect(page.getByTestId('restore-summary')).toContainText(`VM ${instantName} on ${connName}, run from the backup`);
      await attachScreenshot(page, testInfo, 'wizard-instant-summary');
      await expectSessionSuccess(page, await startRestore(page), 300_000);

      await waitForGuest(instantName);
      expect(md5s(instantName)).toEqual(second);
      const { scratchDir } = await scratchOf(instantName);
      expect(existsSync(join(scratchDir, 'nbd.sock'))).toBe(true);

      await page.goto('/restore');
      const row = page.getByTestId(`instant-row-${instantName}`);
      await expect(row.locator('[data-state]')).toHaveAttribute('data-state', 'running');
      await attachScreenshot(page, testInfo, 'instant-recoveries');

      await page.getByTestId(`instant-migrate-${instantName}`).click();
      await page.getByTestId('instant-migrate-pool').selectOption(POOL);
      await page.getByTestId('instant-migrate-format').selectOption('qcow2');
      await page.getByTestId('instant-confirm').click();
      // Asked (the row is migrating) once the panel says so; then the mover copies.
      await expect(page.getByText(`Migrating ${instantName} to production…`)).toBeVisible();
      await expectRecoveryState(page, instantName, 'migrating', 'migrated', 600_000);
      // Migrated is no longer live: the list lets it go.
      await expect(row).toHaveCount(0, { timeout: 15_000 });

      expect(virsh('domstate', instantName)).toBe('running');
      expect(md5s(instantName)).toEqual(second);
      const pools = (await (await page.request.get(`/api/v1/connections/${connId}/pools`)).json()).data as {
        name: string;
        path: string;
      }[];
      const poolPath = pools.find((p) => p.name === POOL)!.path;
      const sources = diskSources(instantName);
      expect(sources.map((s) => s.target).sort()).toEqual(['vda', 'vdb']);
      for (const s of sources) expect(s.source, s.target).toBe(join(poolPath, `${instantName}-${s.target}.qcow2`));
      expect(virsh('dumpxml', instantName)).not.toContain("protocol='nbd'");
      expect(existsSync(join(scratchDir, 'nbd.sock'))).toBe(false);
      expect(existsSync(scratchDir)).toBe(false);
    });

    await test.step('(d) a second instant recovery, its publishing stopped', async () => {
      await wizardOn(page, name, newer.id);
      await page.getByTestId('restore-what-instant').check();
      await next(page);
      await page.getByTestId('restore-name').fill(stoppedName);
      await next(page);
      await expectSessionSuccess(page, await startRestore(page), 300_000);
      await waitForGuest(stoppedName);
      const { scratchDir, overlays } = await scratchOf(stoppedName);
      expect(overlays).toHaveLength(2);
      for (const f of [scratchDir, join(scratchDir, 'nbd.sock'), ...overlays]) expect(existsSync(f), f).toBe(true);

      await page.goto('/restore');
      const row = page.getByTestId(`instant-row-${stoppedName}`);
      await expect(row.locator('[data-state]')).toHaveAttribute('data-state', 'running');
      await page.getByTestId(`instant-stop-${stoppedName}`).click();
      await page.getByTestId('instant-confirm').click();
      await expect(page.getByText(`Stopping ${stoppedName}…`)).toBeVisible();
      await expectRecoveryState(page, stoppedName, 'stopping', 'stopped', 300_000);
      await expect(row).toHaveCount(0, { timeout: 15_000 });
      await attachScreenshot(page, testInfo, 'instant-recoveries-after');

      expect(() => virsh('dominfo', stoppedName)).toThrow();
      for (const f of [...overlays, join(scratchDir, 'nbd.sock'), scratchDir]) expect(existsSync(f), f).toBe(false);
    });
  } finally {
    if (limit.undo) await limit.undo();
    lab('rm', name, newName, instantName, stoppedName);
    // A recovery the test left half-way keeps its scratch folder (its VM is gone now): the
    // suite's database is dropped after it, so no mover would ever clean it up.
    const left = await sql<{ scratchDir: string }>(`SELECT "scratchDir" FROM "InstantRecovery" WHERE "vmName" = ANY($1) AND "scratchDir" <> ''`, [
      [instantName, stoppedName],
    ]);
    for (const { scratchDir } of left) rmSync(scratchDir, { recursive: true, force: true });
  }
});

async function connectionId(request: APIRequestContext, connName: string): Promise<string> {
  const rows = (await (await request.get('/api/v1/connections')).json()).data as { id: string; name: string }[];
  return rows.find((c) => c.name === connName)!.id;
}
