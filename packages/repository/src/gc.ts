import { readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { processStart } from '@strongbox/config';
import { join } from 'node:path';
import { ChunkStore } from './chunk-store.js';
import { RepositoryError, errnoOf, ioError } from './errors.js';
import { POINT_FILE, pointDir } from './format.js';
import { digestAt, readIndexFile, type DiskIndex } from './index-file.js';
import { LEASE_TTL_MS, listLeases, writerAlive } from './leases.js';
import { badDir } from './point-writer.js';
import { readManifest, readPointIndexes, scanPoints } from './points.js';
import type { GcReport, PointManifest } from './types.js';

export const DEFAULT_GC_MARGIN_MS = 15 * 60_000;

const mark = (marked: Set<string>, index: DiskIndex) => {
  for (let i = 0; i < index.blockCount; i++) {
    const d = digestAt(index, i);
    if (d) marked.add(d.toString('latin1'));
  }
};

/**
 * Mark and sweep. Safe against writers because (1) points are listed before leases (and
 * again after, for those committed in between, whose leases may already be gone), and
 * a writer takes its lease before copying its parent's indexes into its folder, so the
 * parent is marked either as a point or through the copy; (2) a chunk younger than the
 * oldest live lease (minus the margin) is never swept, and writers touch the old chunks
 * they rely on; (3) point folders without point.json are debris only when no live lease
 * names them, checked after listing them. FORMAT.md "Garbage collection" has the protocol.
 */
export async function collectGarbage(root: string, marginMs = DEFAULT_GC_MARGIN_MS): Promise<GcReport> {
  const release = await takeGcLock(root);
  try {
    const report: GcReport = { chunksDeleted: 0, bytesFreed: 0, debrisRemoved: 0, keptYoung: 0 };
    const started = Date.now();
    const scan = await scanPoints(root);
    if (scan.unreadable.length > 0) {
      const first = scan.unreadable[0]!;
      throw new RepositoryError(
        first.error.code,
        `GC needs to read every point and cannot read ${scan.unreadable.map((u) => u.id).join(', ')} (the first: ${first.error.message}); nothing was deleted`,
      );
    }
    const marked = new Set<string>();
    // An index that does not match its point.json (damaged, or another point's) cannot say which chunks the point needs.
    const markPoint = async (p: PointManifest) => {
      let indexes: Map<string, DiskIndex>;
      try {
        indexes = await readPointIndexes(root, p);
      } catch (e) {
        if (!(e instanceof RepositoryError)) throw e;
        throw new RepositoryError(e.code, `GC needs every point's indexes and cannot use those of ${p.id} (${e.message}); nothing was deleted`, { cause: e });
      }
      for (const index of indexes.values()) mark(marked, index);
    };
    for (const p of scan.points) await markPoint(p);
    const leases = await listLeases(root);
    const live = leases.filter((l) => l.live);
    for (const l of live) {
      if (!l.info.pointId) continue;
      await markStaging(root, l.info.pointId, marked);
      if (l.info.parent) {
        try {
          await markPoint(await readManifest(root, l.info.parent));
        } catch (e) {
          // Deleted meanwhile: the writer's copy of its indexes was marked with the staging folder.
          if (!(e instanceof RepositoryError && e.code === 'POINT_NOT_FOUND')) throw e;
        }
      }
    }
    // Points committed since the first listing: their writers' leases may be gone already
    // (released right after the rename), so they are marked as points.
    const seen = new Set(scan.points.map((p) => p.id));
    const again = await scanPoints(root);
    for (const p of again.points) {
      if (!seen.has(p.id)) await markPoint(p);
    }
    if (again.unreadable.length > 0)
      throw new RepositoryError(again.unreadable[0]!.error.code, `GC cannot read ${again.unreadable.map((u) => u.id).join(', ')}; nothing was deleted`);
    for (const id of scan.unfinished) {
      if (live.some((l) => l.info.pointId === id)) continue;
      // Committed between our listing and now: its lease went after its point.json came.
      if (await exists(join(pointDir(root, id), POINT_FILE))) continue;
      await rm(pointDir(root, id), { recursive: true, force: true });
      report.debrisRemoved++;
    }
    for (const l of leases) {
      if (l.live) continue;
      await rm(l.path, { force: true });
      report.debrisRemoved++;
    }
    const cutoff = Math.min(started, ...live.map((l) => l.info.started)) - marginMs;
    const store = new ChunkStore(root);
    const bad = new Set(await readdir(badDir(root)).catch((e: unknown) => (errnoOf(e) === 'ENOENT' ? [] : Promise.reject(e))));
    for await (const { name, path } of store.walk()) {
      const isChunk = /^[0-9a-f]{64}$/.test(name);
      if (isChunk && marked.has(Buffer.from(name, 'hex').toString('latin1'))) continue;
      let st;
      try {
        st = await stat(path);
      } catch (e) {
        if (errnoOf(e) === 'ENOENT') continue;
        throw e;
      }
      if (st.mtimeMs >= cutoff) {
        if (isChunk) report.keptYoung++;
        continue;
      }
      await unlink(path).catch((e: unknown) => (errnoOf(e) === 'ENOENT' ? undefined : Promise.reject(e)));
      if (!isChunk) {
        report.debrisRemoved++;
        continue;
      }
      report.chunksDeleted++;
      report.bytesFreed += st.size;
      if (bad.has(name)) await rm(join(badDir(root), name), { force: true });
    }
    return report;
  } catch (e) {
    throw ioError(e, 'garbage collection');
  } finally {
    await release();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw e;
  }
}

async function markStaging(root: string, pointId: string, marked: Set<string>): Promise<void> {
  const dir = pointDir(root, pointId);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return; // the writer finished or aborted since
    throw e;
  }
  for (const name of names) {
    if (!name.endsWith('.idx')) continue;
    try {
      mark(marked, await readIndexFile(join(dir, name)));
    } catch (e) {
      // Committed since (and its parent copies removed): the point itself is marked on the next run, and its chunks are young.
      if (e instanceof RepositoryError && e.code === 'POINT_CORRUPT' && !(await exists(join(dir, name)))) continue;
      throw e;
    }
  }
}

/** gc/lock: one GC at a time per repository. A lock whose owner died is taken over. */
async function takeGcLock(root: string): Promise<() => Promise<void>> {
  const path = join(root, 'gc', 'lock');
  const me = JSON.stringify({ host: hostname(), pid: process.pid, pidStart: processStart(process.pid), started: Date.now() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, me, { flag: 'wx' });
      return () => rm(path, { force: true });
    } catch (e) {
      if (errnoOf(e) !== 'EEXIST') throw ioError(e, 'taking the GC lock');
    }
    // A lock torn by a crash, or released while we look, says nothing about its owner: judge by its age.
    const owner = await readFile(path, 'utf8')
      .then((t) => JSON.parse(t) as { host: string; pid: number; pidStart?: number | null; started: number })
      .catch(() => null);
    const st = await stat(path).catch(() => null);
    const alive = owner && owner.host === hostname() ? writerAlive(owner.pid, owner.pidStart) : st !== null && Date.now() - st.mtimeMs < LEASE_TTL_MS;
    if (alive) throw new RepositoryError('REPO_GC_RUNNING', `another garbage collection holds ${path}`);
    await rm(path, { force: true });
  }
  throw new RepositoryError('REPO_GC_RUNNING', `could not take ${path}`);
}
