import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LibvirtConnector } from '../../packages/hypervisors/src/index.js';
import { LIBVIRT_URI, ensureLab, labPaths, labUnavailableReason, type LabPaths } from '../lab/index.js';
import { instantRecovery, localBoot, probeDigests, stopInstant, type InstantTimes } from './instant.js';
import { GiB, MiB } from './layout.js';
import { closeOpenExports, restoreToNewQcow2, rollBack, type NbdRestore } from './nbd-restore.js';
import { backupOtherVm, type OursPoints } from './ours.js';
import { phaseLine, type RecoveryFigures } from './report.js';
import { dropCaches, exec } from './tools.js';

/**
 * The restores after the file restore (see the README): the latest point into a new
 * qcow2 through NBD, the full point the same way, a quick rollback of the first image to
 * the full point, and instant recovery of the latest point (and of a 4× larger sparse
 * disk) into a booted lab VM. Each result is checked; a wrong one is MISMATCH and `na`.
 */

export type RecoveryContext = {
  workDir: string;
  size: number;
  points: OursPoints;
  /** The image the full backup read (before the rewrite). */
  original: { sha256: string; size: number };
  /** The image the incremental read: the latest point's content. */
  latest: { path: string; sha256: string; size: number };
  caches: boolean;
  log: (line: string) => void;
  /** What an image reads as, hashed in the prepare child (prepare.ts hash-image). */
  hashImage: (path: string, format: 'qcow2' | 'raw') => Promise<{ sha256: string; size: number }>;
};

let stopping = false;

/** Ctrl-C: stops the qemu-nbd of an export being written and an instant-recovery VM; no phase starts after it. */
export async function abortRecovery(): Promise<void> {
  stopping = true;
  await closeOpenExports();
  await stopInstant(labPaths());
}

const OTHER_VM = '00000000-0000-4000-8000-00000000bec4';
/** Of the latest image, copied to the start and the end of the 4× disk: what its guest reads is data, not holes. */
const ENDS = 64 * MiB;

export async function measureRecovery(ctx: RecoveryContext, figures: RecoveryFigures): Promise<{ failed: boolean; mismatch: boolean }> {
  const { log, workDir, size, points } = ctx;
  let failed = false;
  let mismatch = false;
  const reason = labUnavailableReason();
  if (reason) {
    log(`ours   NBD restores, rollback and instant recovery: na (${reason}; they need libvirt, qemu-nbd and QEMU)`);
    return { failed, mismatch };
  }
  let paths: LabPaths;
  let connector: LibvirtConnector;
  try {
    paths = await ensureLab();
    connector = await LibvirtConnector.connect({ uri: LIBVIRT_URI, workDir: join(workDir, 'hv') });
  } catch (e) {
    log(`ours   NBD restores, rollback and instant recovery: na (the lab does not start: ${(e as Error).message})`);
    return { failed, mismatch };
  }
  const dir = join(workDir, 'recovery');
  await mkdir(dir, { recursive: true, mode: 0o755 });

  /** `own`: the phase's own time, when its clean-up (stopping the VM) must not count. */
  const timed = async <T>(
    phase: string,
    bytes: number | null,
    fn: () => Promise<T>,
    note: (r: T) => string,
    own?: (r: T) => number,
    tool = 'ours',
  ): Promise<{ r: T; seconds: number } | null> => {
    if (stopping) return null;
    if (ctx.caches) await dropCaches();
    const started = performance.now();
    try {
      const r = await fn();
      const seconds = own ? own(r) : (performance.now() - started) / 1000;
      log(phaseLine(tool, phase, seconds, bytes, note(r)));
      return { r, seconds };
    } catch (e) {
      failed ||= tool === 'ours'; // the reference boot failing is the lab's failure, not Strongbox's
      if (!stopping) log(`${tool.padEnd(6)} ${phase}: FAILED: ${(e as Error).message}`);
      return null;
    }
  };
  const verify = async (path: string, want: { sha256: string; size: number }, what: string): Promise<boolean> => {
    let got: { sha256: string; size: number };
    try {
      got = await ctx.hashImage(path, 'qcow2');
    } catch (e) {
      // Not a wrong restore, but an unchecked one: its time is not reported.
      log(`ours   ${'verify'.padEnd(13)} cannot check: ${(e as Error).message}`);
      return false;
    }
    const same = got.sha256 === want.sha256 && got.size === want.size;
    const detail = `MISMATCH (${got.size} bytes, sha256 ${got.sha256.slice(0, 16)}… vs ${want.sha256.slice(0, 16)}…)`;
    log(`ours   ${'verify'.padEnd(13)} ${same ? `identical to ${what}` : detail}`);
    mismatch ||= !same;
    return same;
  };
  const nbdNote = (r: NbdRestore) =>
    `${r.result.blocksWritten} blocks written, ${r.result.blocksZeroed} zeroed, ${r.result.blocksSkipped} skipped; ` +
    `setup ${r.setupS.toFixed(2)} s, write+flush ${r.writeS.toFixed(2)} s, close ${r.closeS.toFixed(2)} s`;

  log('\n— restore into a new qcow2 image through a writable qemu-nbd export (as a restore to a new VM disk) —');
  const latestImage = join(dir, 'latest.qcow2');
  const latest = await timed('restore qcow2', size, () => restoreToNewQcow2(connector, points.repo, points.latest, latestImage), nbdNote);
  const latestOk = latest !== null && (await verify(latestImage, ctx.latest, 'the rewritten image'));
  if (latestOk) figures.restore_qcow2_s = latest.seconds;

  const fullImage = join(dir, 'full.qcow2');
  const full = await timed('restore full', size, () => restoreToNewQcow2(connector, points.repo, points.full, fullImage), nbdNote);
  if (full !== null && (await verify(fullImage, ctx.original, 'the image before the rewrite'))) figures.restore_full_nbd_s = full.seconds;
  await rm(fullImage, { force: true });

  log('\n— quick rollback of the restored latest image to the full point (only the blocks that differ) —');
  if (latestOk) {
    const back = await timed(
      'rollback',
      null,
      () => rollBack(connector, points.repo, latestImage, points.latest, points.full),
      (r) => `${r.differing} of ${r.blockCount} blocks differ; ${nbdNote(r)}`,
    );
    if (back !== null && (await verify(latestImage, ctx.original, 'the image before the rewrite'))) {
      figures.rollback_s = back.seconds;
      figures.rollback_blocks = back.r.result.blocksWritten + back.r.result.blocksZeroed;
    }
  } else {
    log('ours   rollback: na (no verified image of the latest point to roll back)');
  }
  await rm(latestImage, { force: true });

  log('\n— instant recovery: request to guest running and reading its disk (lab VM, TCG) —');
  const bootNote = (t: Omit<InstantTimes, 'seconds' | 'serveS' | 'overlayS'>) =>
    `define+start ${t.startS.toFixed(2)} s, boot to console ${t.bootS.toFixed(2)} s, guest reads first+last MiB ${t.readS.toFixed(2)} s`;
  const instantNote = (t: InstantTimes) => `serve ${t.serveS.toFixed(2)} s, overlay ${t.overlayS.toFixed(2)} s, ${bootNote(t)}`;
  const instant = async (phase: string, pointId: string, expected: [string, string], name: string) => {
    const r = await timed(
      phase,
      null,
      () => instantRecovery(connector, paths, points.repo, pointId, { name, dir, expected }),
      instantNote,
      (t) => t.seconds,
    );
    await rm(join(dir, `${name}-vda.qcow2`), { force: true });
    return r?.seconds ?? null;
  };
  const name = `sblab-bench-${process.pid}`;
  const expected = await probeDigests(ctx.latest.path, size);
  figures.instant_s = await instant('instant', points.latest, expected, `${name}-1x`);
  // Not a target: the same boot from the local raw image, to read instant_s against.
  const local = `${name}-local`;
  await timed(
    'boot local',
    null,
    () => localBoot(paths, ctx.latest.path, size, { name: local, dir, expected }),
    (t) => `${bootNote(t)} (no Strongbox: for comparison)`,
    (t) => t.seconds,
    'lab',
  );
  await rm(join(dir, `${local}-vda.qcow2`), { force: true });

  if (stopping) return { failed, mismatch };
  // A disk 4× larger, sparse: the latest image's first and last 64 MiB at its two ends, holes between.
  const big = join(dir, 'big.raw');
  const bigSize = 4 * size;
  await exec('truncate', ['-s', String(bigSize), big]);
  const dd = ['bs=4M', `count=${ENDS / (4 * MiB)}`, 'conv=notrunc,sparse', 'status=none', `if=${ctx.latest.path}`, `of=${big}`];
  await exec('dd', dd);
  await exec('dd', [...dd, `skip=${(size - ENDS) / (4 * MiB)}`, `seek=${(bigSize - ENDS) / (4 * MiB)}`]);
  const bigExpected = await probeDigests(big, bigSize);
  const started = performance.now();
  const bigPoint = await backupOtherVm(points.repo, OTHER_VM, big);
  log(
    `ours   (untimed: ${(bigSize / GiB).toFixed(2)} GiB sparse disk backed up as another VM's point in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  await rm(big, { force: true });
  figures.instant_4x_s = await instant('instant 4×', bigPoint, bigExpected, `${name}-4x`);
  return { failed, mismatch };
}
