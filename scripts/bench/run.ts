/**
 * pnpm bench — full, incremental and restore of a generated disk image with Strongbox,
 * restic and borg, then Strongbox's restores through NBD, quick rollback and instant
 * recovery (recovery.ts); prints each phase, a table against the targets, the guest-file
 * figures (guest-files.ts), and last one line of figures (report.ts). See scripts/bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GiB, MiB, REWRITE, coalesce, imageSpec, planLayout, planRewrite, type Extent, type RegionKind } from './layout.js';
import { oursTool } from './ours.js';
import { abortRecovery, measureRecovery } from './recovery.js';
import { emptyFigures, emptyRecovery, formatBenchLine, formatTargets, phaseLine, type Figures, type ToolFigures } from './report.js';
import { borgTool, diskUsage, dropCaches, ensureTools, exec, killChildren, resticTool, type BenchTool } from './tools.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const benchDir = join(root, '.data/bench');
const workDir = join(benchDir, `run-${process.pid}`);
const log = (line: string) => console.log(line);
const rssMiB = () => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB

function settings() {
  const sizeGiB = Number(process.env.BENCH_SIZE_GB ?? '4');
  if (!(sizeGiB > 0)) throw new Error(`BENCH_SIZE_GB must be a positive number of GiB, not ${process.env.BENCH_SIZE_GB}`);
  const region = 16 * MiB;
  const size = Math.max(32, Math.floor((sizeGiB * GiB) / region)) * region;
  return { size, seed: process.env.BENCH_SEED ?? '1', keep: process.env.BENCH_KEEP === '1' };
}

let tools: BenchTool[] = [];
let cleaning: Promise<void> | null = null;
let stopping = false;

/** Removes everything of this run but the cached image (and, with BENCH_KEEP=1, the repositories). */
function cleanup(keepRepos: boolean): Promise<void> {
  cleaning ??= (async () => {
    killChildren();
    for (const t of tools) await t.abort().catch((e: Error) => console.error(`bench: stopping ${t.name}: ${e.message}`));
    await abortRecovery().catch((e: Error) => console.error(`bench: stopping the NBD restores and the instant-recovery VM: ${e.message}`));
    if (!existsSync(workDir)) return;
    if (!keepRepos) return rm(workDir, { recursive: true, force: true });
    await rm(join(workDir, 'disk.raw'), { force: true });
    await rm(join(workDir, 'restore'), { recursive: true, force: true });
    log(`bench: repositories kept in ${workDir}`);
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // `on`, not `once`: tsx re-sends the signal when our answer to its relay is slow (a loaded
  // machine), and without a listener then the process dies in the middle of the cleanup.
  process.on(signal, () => {
    if (stopping) return;
    stopping = true; // what fails from here on fails because we stopped it: no FAILED lines
    console.error(`\nbench: ${signal}: stopping and cleaning up`);
    void cleanup(false).finally(() => process.exit(130));
  });
}

/** prepare.ts in a child process (see there why); its progress shows, its answer is parsed. */
async function prepare<T>(...args: string[]): Promise<T> {
  const out = await exec(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'prepare.ts'), ...args], { cwd: root, showStderr: true });
  return JSON.parse(out) as T;
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function main(): Promise<number> {
  const { size, seed, keep } = settings();
  const root0 = process.getuid?.() === 0;
  log(`bench: ${(size / GiB).toFixed(2)} GiB image, seed ${seed}, work dir ${workDir}`);
  await mkdir(workDir, { recursive: true });

  const image = await prepare<{ path: string; sha256: string }>('image', benchDir, String(size), seed);
  const layout = planLayout(imageSpec(size, seed));
  const counts = new Map<RegionKind, number>();
  for (const k of layout.kinds) counts.set(k, (counts.get(k) ?? 0) + 1);
  const share = (k: RegionKind) => `${k} ${(((counts.get(k) ?? 0) * 100) / layout.kinds.length).toFixed(1)}%`;
  log(
    `image: ${layout.kinds.length} regions of 16 MiB: ${(['zero', 'text', 'random', 'mixed', 'repeat'] as const).map(share).join(', ')} (repeat = 64 MiB copied from offset ${layout.repeat.source * 16} MiB to ${layout.repeat.target * 16} MiB)`,
  );
  log(`memory: generation, rewrite and hashing run in a child; peak RSS here is the harness and Strongbox (${rssMiB().toFixed(0)} MiB before any backup)`);

  const pieces = planRewrite(size, seed);
  const changed: Extent[] = coalesce(pieces);
  const changedBytes = changed.reduce((s, e) => s + e.length, 0);
  const blocks = new Set(pieces.flatMap((p) => [Math.floor(p.offset / MiB), Math.floor((p.offset + p.length - 1) / MiB)]));
  log(
    `rewrite: ${pieces.length} pieces of ${REWRITE.pieceSize / MiB} MiB = ${(changedBytes / MiB).toFixed(0)} MiB (${((changedBytes * 100) / size).toFixed(2)}%), ` +
      `at seeded 4 KiB-aligned offsets, NOT aligned to the 1 MiB block grid: they touch ${blocks.size} blocks (${blocks.size} MiB to reread); ` +
      `changed-extent list: ${changed.length} extents`,
  );

  const available = await ensureTools(log);
  tools = [oursTool(workDir), ...(available.restic ? [resticTool(workDir)] : []), ...(available.borg ? [borgTool(workDir)] : [])];
  const figures: Figures = { ours: emptyFigures(), restic: emptyFigures(), borg: emptyFigures(), peak_rss_mb: null, recovery: emptyRecovery() };
  const broken = new Set<string>();
  const caches = root0 && (await dropCaches());
  log(
    `page cache: ${caches ? 'dropped before every timed phase, for every tool' : 'NOT dropped (needs root and a writable /proc/sys/vm/drop_caches), for every tool'}`,
  );
  log(`timing: wall seconds of each tool's own work; restores include an fsync of the restored file (no tool fsyncs it itself)`);

  // A sparse copy per run: the rewrite must never reach the cached image.
  const disk = join(workDir, 'disk.raw');
  await exec('cp', ['--sparse=always', '--reflink=auto', image.path, disk]);
  for (const t of tools) {
    await t.init().catch((e: Error) => (broken.add(t.name), log(`${t.name}: init FAILED: ${e.message}`)));
  }

  const timed = async (t: BenchTool, phase: string, field: keyof ToolFigures, bytes: number, fn: () => Promise<string>) => {
    if (broken.has(t.name)) return null;
    if (caches) await dropCaches();
    const started = performance.now();
    try {
      const note = await fn();
      const seconds = (performance.now() - started) / 1000;
      figures[t.name][field] = seconds;
      log(phaseLine(t.name, phase, seconds, bytes, note));
      return note;
    } catch (e) {
      broken.add(t.name);
      if (!stopping) log(`${t.name.padEnd(6)} ${phase}: FAILED: ${(e as Error).message}`);
      return null;
    }
  };

  log('\n— full backup (throughput over the image size) —');
  for (const t of tools) await timed(t, 'full', 'full_s', size, () => t.full(disk));

  const expected = await prepare<{ sha256: string; size: number }>('rewrite', disk, String(size), seed);
  log('\n— incremental (throughput over the rewritten bytes; restic and borg reread everything) —');
  for (const t of tools) await timed(t, 'incremental', 'incr_s', changedBytes, () => t.incremental(disk, changed));

  for (const t of tools) {
    if (!broken.has(t.name)) figures[t.name].size_mb = (await diskUsage(t.repoDir)) / MiB;
  }
  const ours = tools[0] as ReturnType<typeof oursTool>;
  if (!broken.has('ours')) log(`\nours: repository ${await ours.stats()}`);

  log('\n— restore of the latest point, checked byte for byte (SHA-256 of the whole file) —');
  let mismatch = false;
  for (const t of tools) {
    const target = join(workDir, 'restore', t.name);
    await mkdir(target, { recursive: true });
    let restored = '';
    const note = await timed(t, 'restore', 'restore_s', size, async () => {
      restored = await t.restore(disk, target);
      await fsyncFile(restored);
      return '';
    });
    if (note === null) continue;
    const got = await prepare<{ sha256: string; size: number }>('hash', restored);
    const same = got.sha256 === expected.sha256 && got.size === expected.size;
    log(
      `${t.name.padEnd(6)} ${'verify'.padEnd(13)} ${same ? 'identical' : `MISMATCH (${got.size} bytes, sha256 ${got.sha256.slice(0, 16)}… vs ${expected.sha256.slice(0, 16)}…)`}`,
    );
    if (!same) {
      figures[t.name].restore_s = null; // a wrong restore has no time worth comparing
      mismatch ||= t.name === 'ours';
    }
    await rm(target, { recursive: true, force: true });
  }

  // Strongbox only: restic and borg restore to files, and have neither NBD nor instant recovery.
  const points = broken.has('ours') ? null : ours.points();
  let recoveryFailed = false;
  if (points) {
    const rssBefore = rssMiB();
    const r = await measureRecovery(
      {
        workDir,
        size,
        points,
        original: { sha256: image.sha256, size },
        latest: { path: disk, sha256: expected.sha256, size: expected.size },
        caches,
        log,
        hashImage: (path, format) => prepare<{ sha256: string; size: number }>('hash-image', path, format),
      },
      figures.recovery,
    );
    if (stopping) return cleanup(false).then(() => 130); // what the signal handler started
    recoveryFailed = r.failed;
    mismatch ||= r.mismatch;
    log(`memory: peak RSS ${rssBefore.toFixed(0)} MiB before these phases, ${rssMiB().toFixed(0)} MiB after (peak_rss_mb is the latter)`);
  } else {
    log('\nours   NBD restores, rollback and instant recovery: na (no full and incremental point to restore)');
  }

  figures.peak_rss_mb = rssMiB();
  log('\n— sizes after full + incremental (du of each repository) —');
  for (const t of tools) log(`${t.name.padEnd(6)} ${figures[t.name].size_mb?.toFixed(1) ?? 'na'} MiB`);
  log(`\n— targets (a MISS is reported, never fatal) —\n${formatTargets(figures)}\n`);
  if (process.env.BENCH_GUESTFS !== '0') {
    // Guest files on a lab disk (bench:guestfs): its own figures and BENCH line, above this bench's last one.
    log('— guest files: mount to first listing, walk and index of 10,000 files (pnpm bench:guestfs; BENCH_GUESTFS=0 skips) —');
    const gf = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'guest-files.ts')], { cwd: root, stdio: 'inherit' });
    if (gf.status !== 0) log(`guest files: FAILED (exit ${gf.status ?? gf.signal}; see above)`);
  }
  await cleanup(keep);
  log(formatBenchLine(figures));
  return broken.has('ours') || recoveryFailed || mismatch ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (e: Error) => {
    console.error(`bench: ${e.stack ?? e.message}`);
    await cleanup(false);
    process.exit(1);
  },
);
