/**
 * pnpm bench:guestfs — guest files: the time from "mount" to the first listing (the
 * appliance launched on an NBD export, its file systems found, the root listed), and the
 * time to walk 10,000 files (what the guest file index will read per 10,000 files). The
 * image is an ext4 partition on a lab disk with 10,000 small files in 100 folders, served
 * read-only by qemu-nbd (the mover serves a point's disks with our NbdServer; the appliance
 * cannot tell). Targets: first listing ≤ 30 s here under TCG, walk and index ≥ 5,000 files/s.
 *
 * Then the guest file index: the same walk written to PostgreSQL with COPY (GuestFileIndex, as
 * the mover's indexing does, trigram index included), and a substring search over it. The
 * database is a throwaway one on the server of DATABASE_URL, or the private one `npm start` makes.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPrismaClient, GuestFileIndex, type IndexedEntry } from '../../packages/db/src/index.js';
import { GuestfsAppliance } from '../../packages/guestfs/src/index.js';
import { checkEnvOrExit, maintenanceDatabaseUrl, migrate, provideServices } from '../launcher/provision.js';
import { ensureLab, guestfsEnvironment } from '../lab/index.js';
import { makeFsImage } from '../lab/fs-disk.js';

const FILES = 10_000;
const work = await mkdtemp(join(tmpdir(), 'sb-bench-gf-'));
const image = join(work, 'disk.raw');
const socket = join(work, 'nbd.sock');
const files: Record<string, string> = {};
for (let i = 0; i < FILES; i++) files[`d${String(i % 100).padStart(2, '0')}/f${i}.txt`] = `file ${i}\n`;

const paths = await ensureLab();
const env = await guestfsEnvironment(paths);
await makeFsImage(paths, { target: image, format: 'raw', sizeMiB: 128, fs: 'ext4-partitioned', files });
const nbd = spawn('qemu-nbd', ['-t', '-r', '-f', 'raw', '-k', socket, '-x', 'vda', image], { stdio: 'ignore' });
let appliance: GuestfsAppliance | undefined;
try {
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
  const asked = Date.now();
  appliance = await GuestfsAppliance.launch({ drives: [{ uri: `nbd:///vda?socket=${socket}`, format: 'raw' }], workDir: join(work, 'appliance'), env });
  const launched = Date.now();
  const [fs] = (await appliance.filesystems()).filter((f) => f.type === 'ext4');
  if (!fs) throw new Error('no ext4 file system found');
  const root = await appliance.list(fs.device, '/');
  const listed = Date.now();
  let walked = 0;
  for await (const e of appliance.walk(fs.device)) if (e.type === 'file') walked++;
  const walkS = (Date.now() - listed) / 1000;
  if (walked !== FILES) throw new Error(`walked ${walked} files, expected ${FILES}`);
  const firstS = (listed - asked) / 1000;
  const rate = FILES / walkS;
  console.log(
    `mount → first listing  ${firstS.toFixed(1)} s (appliance ${((launched - asked) / 1000).toFixed(1)} s, file systems and / ${((listed - launched) / 1000).toFixed(1)} s, ${root.length} entries)  target ≤ 30 s  ${firstS <= 30 ? 'PASS' : 'MISS'}`,
  );
  console.log(`walk of ${FILES} files      ${walkS.toFixed(2)} s  ${rate.toFixed(0)} files/s  target ≥ 5,000 files/s  ${rate >= 5000 ? 'PASS' : 'MISS'}`);
  const { indexS, searchMs } = await benchIndex(appliance, fs.device);
  const indexRate = (FILES + 100) / indexS;
  console.log(
    `index of ${FILES + 100} entries   ${indexS.toFixed(2)} s  ${indexRate.toFixed(0)} entries/s (walk + COPY into PostgreSQL)  target ≥ 5,000 files/s  ${indexRate >= 5000 ? 'PASS' : 'MISS'}`,
  );
  console.log(`search "f4242" in them   ${searchMs.toFixed(1)} ms (trigram index)`);
  console.log(
    `BENCH guestfs_first_listing_s=${firstS.toFixed(1)} guestfs_walk_10k_s=${walkS.toFixed(2)} guestfs_files_per_s=${rate.toFixed(0)} index_entries_per_s=${indexRate.toFixed(0)} index_search_ms=${searchMs.toFixed(1)}`,
  );
} finally {
  await appliance?.close();
  nbd.kill('SIGTERM');
  await rm(work, { recursive: true, force: true });
}

/** Walk + COPY of the file system into a throwaway database's index, then one search; the database is dropped after. */
async function benchIndex(app: GuestfsAppliance, device: string): Promise<{ indexS: number; searchMs: number }> {
  const services = await provideServices(checkEnvOrExit().dataDir);
  const name = `strongbox_bench_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: maintenanceDatabaseUrl(services.databaseUrl) });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(services.databaseUrl);
  url.pathname = `/${name}`;
  const db = createPrismaClient(url.toString());
  try {
    await migrate(url.toString());
    const repo = await db.backupRepository.create({ data: { name: 'bench', path: work, kind: 'local' } });
    const point = await db.restorePoint.create({
      data: { repositoryId: repo.id, vmName: 'bench', time: new Date(), kind: 'full', path: 'points/bench', disks: [] },
    });
    const index = new GuestFileIndex(db, url.toString());
    async function* entries(): AsyncGenerator<IndexedEntry> {
      for await (const e of app.walk(device))
        yield { fs: 'sda1', path: e.path, name: e.name, type: e.type === 'directory' ? 'd' : 'f', size: e.size, mtime: e.mtime };
    }
    const began = Date.now();
    const written = await index.write(point.id, entries(), began);
    const indexS = (Date.now() - began) / 1000;
    if (written < FILES) throw new Error(`indexed ${written} entries, expected at least ${FILES}`);
    const asked = performance.now();
    const hits = await index.search({ pattern: 'f4242', limit: 100 });
    const searchMs = performance.now() - asked;
    if (hits.length !== 1) throw new Error(`search found ${hits.length} hits, expected 1`);
    return { indexS, searchMs };
  } finally {
    await db.$disconnect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    await services.stop();
  }
}
