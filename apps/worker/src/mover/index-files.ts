import { rm } from 'node:fs/promises';
import { env } from '@strongbox/config';
import { messageOf, type IndexResult } from '@strongbox/core';
import { GuestFileIndex, type IndexedEntry } from '@strongbox/db';
import type { GuestEntryType } from '@strongbox/guestfs';
import type { Repository } from '@strongbox/repository';
import { mountScratch, serveAppliance } from './mounts.js';
import type { MoverContext } from './mover-context.js';

type Say = (level: 'info' | 'warning' | 'error', message: string) => Promise<unknown>;

const TYPE: Record<GuestEntryType, IndexedEntry['type']> = { file: 'f', directory: 'd', symlink: 'l', other: 'o' };

/**
 * Guest file indexing of a repository: every point of a job with "Index guest files" that has
 * no index yet is opened in an appliance of its own (read-only, as a mount), each of its file
 * systems walked, and every entry written to PostgreSQL in bulk (COPY) in one transaction per
 * point. A point that cannot be read is recorded as failed, with why, and the others go on.
 */
export async function indexGuestFiles(
  ctx: MoverContext,
  repo: Repository,
  repositoryId: string,
  say: Say,
  signal: AbortSignal,
): Promise<{ status: 'success' | 'warning'; result: IndexResult }> {
  const started = Date.now();
  const index = new GuestFileIndex(ctx.db, env().DATABASE_URL);
  const points = await index.pending(repositoryId);
  const result: IndexResult = { pointsIndexed: 0, pointsFailed: 0, filesIndexed: 0, durationMs: 0 };
  if (points.length === 0) await say('info', 'no restore point waits to be indexed');
  for (const point of points) {
    signal.throwIfAborted();
    const began = Date.now();
    const label = `${point.vmName}, point of ${point.time.toISOString()}`;
    const scratch = mountScratch(ctx.workDir, `index-${point.id}`);
    const reader = await repo.openPoint(point.path);
    try {
      const served = await serveAppliance(ctx, reader, scratch, point.id, signal);
      try {
        const readable = served.filesystems.filter((f) => f.mountable);
        async function* entries(): AsyncGenerator<IndexedEntry> {
          for (const fs of readable) {
            for await (const e of served.appliance.walk(fs.device, '/')) {
              yield { fs: fs.key, path: e.path, name: e.name, type: TYPE[e.type], size: e.size, mtime: e.mtime };
            }
          }
        }
        const files = await index.write(point.id, entries(), began);
        result.pointsIndexed++;
        result.filesIndexed += files;
        await say(
          'info',
          `${label}: ${files} entries of ${readable.map((f) => `${f.key} (${f.type})`).join(', ') || 'no readable file system'} indexed in ${((Date.now() - began) / 1000).toFixed(1)} s`,
        );
      } finally {
        await served.close();
      }
    } catch (error) {
      if (signal.aborted) throw error;
      result.pointsFailed++;
      await index.failed(point.id, messageOf(error), began);
      await say('warning', `${label}: not indexed: ${messageOf(error)}`);
    } finally {
      await reader.close();
      await rm(scratch, { recursive: true, force: true });
    }
  }
  result.durationMs = Date.now() - started;
  await say(
    result.pointsFailed > 0 ? 'warning' : 'info',
    `${result.filesIndexed} entries of ${result.pointsIndexed} point(s) indexed in ${(result.durationMs / 1000).toFixed(1)} s${result.pointsFailed > 0 ? `; ${result.pointsFailed} point(s) could not be` : ''}`,
  );
  return { status: result.pointsFailed > 0 ? 'warning' : 'success', result };
}
