import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { admin, attachScreenshot, lab, login } from './helpers';

// Guest files of a real lab VM, browsed in Chromium: ext4 on a partitioned disk and XFS on
// LVM on a second one. Backed up; the guest changes one file and deletes another; backed up
// again. The first point is browsed: the changed file downloads with its old content (md5
// against what the guest read at the first backup), a folder downloads as .zip with every
// file's md5 right, the deleted file is restored into the running VM (md5 read in the guest),
// the XFS logical volume is browsable, and ending the mount leaves it ended. The job indexes
// guest files: the search finds a file in both points, the deleted one in the first only.

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

async function api<T>(request: APIRequestContext, method: 'get' | 'post', url: string, data?: unknown): Promise<T> {
  const res = await request[method](url, data === undefined ? {} : { data });
  expect(res.ok(), `${method.toUpperCase()} ${url}: ${res.status()} ${await res.text()}`).toBe(true);
  return (await res.json()) as T;
}

async function backup(request: APIRequestContext, jobId: string): Promise<void> {
  const { sessionId } = await api<{ sessionId: string }>(request, 'post', `/api/v1/jobs/${jobId}/start`);
  await expect
    .poll(async () => (await api<{ status: string; endedAt: string | null }>(request, 'get', `/api/v1/sessions/${sessionId}`)).status, {
      timeout: 300_000,
      intervals: [2000],
    })
    .toMatch(/^(success|warning|failed|cancelled|interrupted)$/);
  expect((await api<{ status: string }>(request, 'get', `/api/v1/sessions/${sessionId}`)).status).toBe('success');
}

/** Every file of a tree, relative path → md5. */
function tree(root: string, at = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(root, at))) {
    const rel = at ? `${at}/${name}` : name;
    if (statSync(join(root, rel)).isDirectory()) Object.assign(out, tree(root, rel));
    else out[rel] = md5(readFileSync(join(root, rel)));
  }
  return out;
}

async function downloadOf(page: Page, click: () => Promise<void>): Promise<Buffer> {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), click()]);
  const path = await download.path();
  return readFileSync(path);
}

test('guest files of a lab VM: ext4 and XFS on LVM browsed from the older point; a changed file downloads as it was, a folder as .zip byte for byte', async ({
  page,
}, testInfo) => {
  test.setTimeout(15 * 60_000);
  const tag = randomBytes(3).toString('hex');
  const name = `sblab-e2gf-${tag}`;
  const dir = mkdtempSync(join(tmpdir(), 'sb-e2gf-'));
  lab('fsvm', name);
  try {
    const before = {
      report: lab('fm', name, 'vda', 'home/ann/report.txt'),
      old: lab('fm', name, 'vda', 'home/ann/old.txt'),
      todo: lab('fm', name, 'vda', 'home/ann/notes/todo.md'),
      ideas: lab('fm', name, 'vda', 'home/ann/notes/ideas.md'),
    };
    await login(page, admin.email, admin.password);
    const connection = await api<{ id: string }>(page.request, 'post', '/api/v1/connections', { name: `KVM gf ${tag}`, uri: 'qemu:///system' });
    let vmId = '';
    await expect
      .poll(
        async () => {
          const vms = (await api<{ data: { id: string; name: string }[] }>(page.request, 'get', `/api/v1/vms?connectionId=${connection.id}`)).data;
          vmId = vms.find((v) => v.name === name)?.id ?? '';
          return vmId;
        },
        { timeout: 60_000 },
      )
      .not.toBe('');
    const repos = (await api<{ data: { id: string; isDefault: boolean }[] }>(page.request, 'get', '/api/v1/repositories')).data;
    const job = await api<{ id: string }>(page.request, 'post', '/api/v1/jobs', {
      name: `E2E guest files ${tag}`,
      connectionId: connection.id,
      repositoryId: repos.find((r) => r.isDefault)!.id,
      objects: [{ type: 'vm', vmId }],
      retention: { keepPoints: 7 },
      schedule: { kind: 'manual' },
      options: { indexGuestFiles: true },
    });
    await backup(page.request, job.id);
    lab('fw', name, 'vda', 'home/ann/report.txt', '64', 'random');
    lab('fd', name, 'vda', 'home/ann/old.txt');
    expect(lab('fm', name, 'vda', 'home/ann/report.txt')).not.toBe(before.report);
    await backup(page.request, job.id);
    const points = (await api<{ data: { id: string; vmName: string; time: string }[] }>(page.request, 'get', '/api/v1/restore-points?perPage=200')).data
      .filter((p) => p.vmName === name)
      .sort((a, b) => a.time.localeCompare(b.time));
    expect(points).toHaveLength(2);

    await test.step('the guest file index: after each backup its point is indexed; the search finds report.txt in both points, old.txt in the first only', async () => {
      // Each backup's indexing runs after it, as maintenance: both points indexed before the search is tried.
      await expect
        .poll(async () => (await api<{ data: unknown[] }>(page.request, 'get', `/api/v1/guest-files?q=report.txt&vmId=${vmId}`)).data.length, {
          timeout: 300_000,
          intervals: [3000],
        })
        .toBe(2);
      await page.goto('/restore/search');
      await page.getByTestId('guest-search-q').fill('report.txt');
      await page.getByTestId('guest-search-vm').selectOption(vmId);
      await page.getByTestId('guest-search-go').click();
      await expect(page.getByTestId('guest-search-hit')).toHaveCount(2);
      await expect(page.getByTestId('guest-search-hits')).toContainText('/sda1/home/ann/report.txt');
      await attachScreenshot(page, testInfo, 'guest-files-search');
      await page.getByTestId('guest-search-q').fill('old.*');
      await page.getByTestId('guest-search-go').click();
      await expect(page.getByTestId('guest-search-hit')).toHaveCount(1);
      const open = page.getByTestId('guest-search-open');
      expect(await open.getAttribute('href')).toBe(`/restore/files?point=${points[0]!.id}&path=${encodeURIComponent('/sda1/home/ann')}`);
    });

    await test.step('the first point opened for browsing: a note while the appliance starts, then its file systems', async () => {
      await page.goto('/restore/files');
      await page.getByTestId('restore-search').fill(name);
      await page.getByTestId(`restore-vm-${name}`).click();
      await page.getByTestId(`restore-point-${points[0]!.id}`).check();
      await page.getByTestId('guest-browse').click();
      await expect(page.getByTestId('guest-starting')).toBeVisible();
      await attachScreenshot(page, testInfo, 'guest-files-starting');
      await expect(page.getByTestId('guest-filesystems')).toBeVisible({ timeout: 240_000 });
      await expect(page.getByTestId('guest-filesystems')).toContainText('ext4');
      await expect(page.getByTestId('guest-filesystems')).toContainText('xfs');
      await expect(page.getByTestId('guest-filesystems')).toContainText('sbdata');
    });

    await test.step('ext4: home/ann as it was at the first backup; the changed file downloads with its old bytes', async () => {
      await page.getByTestId('guest-open-fs-sda1').click();
      await page.getByTestId('guest-open-dir-home').click();
      await page.getByTestId('guest-open-dir-ann').click();
      await expect(page.getByTestId('guest-entry-old.txt')).toBeVisible();
      await expect(page.getByTestId('guest-entry-report.txt')).toContainText('rw');
      // Its versions: both indexed points, this one marked.
      await page.getByTestId('guest-versions-report.txt').click();
      await expect(page.getByTestId('guest-versions-of-report.txt').getByTestId('guest-version')).toHaveCount(2);
      await expect(page.getByTestId('guest-versions-of-report.txt')).toContainText('this point');
      await page.getByTestId('guest-versions-report.txt').click();
      await attachScreenshot(page, testInfo, 'guest-files-browser');
      await page.getByTestId('guest-filter').fill('rep');
      await expect(page.getByTestId('guest-entry-old.txt')).toBeHidden();
      await page.getByTestId('guest-select-report.txt').check();
      const bytes = await downloadOf(page, () => page.getByTestId('guest-download').click());
      expect(md5(bytes)).toBe(before.report);
      await page.getByTestId('guest-filter').fill('');
    });

    await test.step('a folder and the deleted file as one .zip: every md5 as the guest read it', async () => {
      await page.getByTestId('guest-select-report.txt').uncheck();
      await page.getByTestId('guest-select-notes').check();
      await page.getByTestId('guest-select-old.txt').check();
      await page.getByTestId('guest-format').selectOption('zip');
      const zip = await downloadOf(page, () => page.getByTestId('guest-download').click());
      const out = join(dir, 'zip');
      execFileSync('python3', ['-c', 'import sys,zipfile,io; zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read())).extractall(sys.argv[1])', out], {
        input: zip,
      });
      expect(tree(out)).toEqual({ 'old.txt': before.old, 'notes/todo.md': before.todo, 'notes/ideas.md': before.ideas });
    });

    await test.step('the deleted file restored into the running VM: a session with a line per file, the md5 read inside the guest', async () => {
      expect(() => lab('fm', name, 'vda', 'home/ann/old.txt')).toThrow();
      await page.getByTestId('guest-select-notes').uncheck();
      await expect(page.getByTestId('guest-selected-count')).toHaveText('1 selected');
      await page.getByTestId('guest-restore-mode').selectOption('overwrite');
      await page.getByTestId('guest-restore-start').click();
      await expect(page.getByTestId('guest-restore-confirm')).toContainText(name);
      await page.getByTestId('guest-restore-confirm-yes').click();
      // The session in a tab of its own: the browser stays where it is.
      const href = await page.getByTestId('guest-restore-session').getAttribute('href');
      const session = await page.context().newPage();
      await session.goto(href!);
      await expect(session.getByTestId('restore-kind')).toHaveText('Guest file restore');
      await expect(session.getByTestId('restore-result')).toContainText('1 file(s)', { timeout: 240_000 });
      await expect(session.getByTestId('log')).toContainText('/mnt/vda1/home/ann/old.txt');
      await attachScreenshot(session, testInfo, 'guest-files-restored-into-vm');
      await session.close();
      expect(lab('fm', name, 'vda', 'home/ann/old.txt')).toBe(before.old);
    });

    await test.step('XFS on LVM is browsable; ending the mount ends it', async () => {
      await page.getByTestId('guest-crumb-/').click();
      await expect(page.getByTestId('guest-fs-sbvg-data')).toContainText('/dev/sbvg/data');
      await page.getByTestId('guest-open-fs-sbvg-data').click();
      await page.getByTestId('guest-open-dir-data').click();
      await expect(page.getByTestId('guest-entry-ledger.csv')).toBeVisible();
      await attachScreenshot(page, testInfo, 'guest-files-xfs-lvm');
      const mountId = await page.getByTestId('guest-files').getAttribute('data-mount-id');
      await page.getByTestId('guest-end').click();
      await expect(page.getByTestId('guest-browse')).toBeVisible();
      // The mover removes the appliance and the export, then the mount is stopped.
      await expect
        .poll(async () => (await api<{ mount: { state: string } }>(page.request, 'get', `/api/v1/mounts/${mountId}`)).mount.state, { timeout: 60_000 })
        .toBe('stopped');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    lab('rm', name);
  }
});
