import { join } from 'node:path';
import { backupDisk, FileDiskReader, restoreDisk, type BackupStats } from '../../packages/pipeline/src/index.js';
import { Repository, type PointWriter } from '../../packages/repository/src/index.js';
import type { Extent } from './layout.js';
import type { BenchTool } from './tools.js';

/**
 * Strongbox through its public API, in this process: its peak RSS is ours (restic and
 * borg run as children and do not count).
 */

const VM_ID = '00000000-0000-4000-8000-00000000bec0';
/** The one disk of every point the bench makes. */
export const DISK = 'vda';
const MiB = 2 ** 20;

/** What the restore phases after the file restore need: the repository and its two points of the bench VM. */
export type OursPoints = { repo: Repository; full: string; latest: string };

export function oursTool(workDir: string): BenchTool & { stats(): Promise<string>; points(): OursPoints | null } {
  const repoDir = join(workDir, 'strongbox-repo');
  let repo: Repository | null = null;
  let firstPoint: string | null = null;
  let lastPoint: string | null = null;
  let writing: PointWriter | null = null;
  const controller = new AbortController();

  const backup = async (image: string, changed: readonly Extent[] | null): Promise<string> => {
    if (!repo) throw new Error('bench: the repository is not created');
    const reader = await FileDiskReader.open(image, changed ? { changed: [...changed] } : {});
    const writer = await repo.beginPoint({
      vmId: VM_ID,
      kind: changed ? 'incremental' : 'full',
      parent: changed ? lastPoint : null,
      config: null,
      job: { bench: true },
    });
    writing = writer;
    try {
      const { stats } = await backupDisk(writer, DISK, reader, { signal: controller.signal });
      const manifest = await writer.commit();
      lastPoint = manifest.id;
      firstPoint ??= manifest.id;
      return describe(stats);
    } catch (e) {
      await writer.abort();
      throw e;
    } finally {
      writing = null;
      await reader.close();
    }
  };

  return {
    name: 'ours',
    repoDir,
    async init() {
      repo = await Repository.create(repoDir);
    },
    full: (image) => backup(image, null),
    incremental: (image, changed) => backup(image, changed),
    async restore(_image, targetDir) {
      if (!repo || !lastPoint) throw new Error('bench: no point to restore');
      const target = join(targetDir, 'restored.raw');
      const reader = await repo.openPoint(lastPoint);
      try {
        await restoreDisk(reader, DISK, target, { signal: controller.signal });
      } finally {
        await reader.close();
      }
      return target;
    },
    async abort() {
      controller.abort();
      await writing?.abort();
    },
    points: () => (repo && firstPoint && lastPoint && firstPoint !== lastPoint ? { repo, full: firstPoint, latest: lastPoint } : null),
    async stats() {
      if (!repo) return 'no repository';
      const s = await repo.stats();
      return `${s.points} points, ${s.chunks} chunks, ${(s.bytes / MiB).toFixed(1)} MiB of chunks`;
    },
  };
}

/** An untimed full backup of another VM's image into the same repository (the instant-recovery phase's larger disk); returns the point's id. */
export async function backupOtherVm(repo: Repository, vmId: string, image: string): Promise<string> {
  const reader = await FileDiskReader.open(image);
  const writer = await repo.beginPoint({ vmId, kind: 'full', parent: null, config: null, job: { bench: true } });
  try {
    await backupDisk(writer, DISK, reader, {});
    return (await writer.commit()).id;
  } catch (e) {
    await writer.abort();
    throw e;
  } finally {
    await reader.close();
  }
}

function describe(s: BackupStats): string {
  return `read ${(s.bytesRead / MiB).toFixed(0)} MiB, ${s.newChunks} new chunks (${(s.bytesWritten / MiB).toFixed(0)} MiB written), ${s.zeroBlocks} zero blocks, ${s.carriedBlocks} carried`;
}
