import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { namePatternToLike } from '@strongbox/core';
import type { Db } from './client.js';
import { jobSelect, specOf } from './jobs.js';

/** One entry of a point's guest file systems, as the index keeps it. */
export type IndexedEntry = { fs: string; path: string; name: string; type: 'f' | 'd' | 'l' | 'o'; size: number; mtime: Date };

/** A value in COPY's text format: backslash, tab and line ends escaped. */
const copyText = (v: string) => v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');

export type GuestFileHit = {
  pointId: string;
  vmId: string | null;
  vmName: string;
  pointTime: Date;
  fs: string;
  path: string;
  name: string;
  type: string;
  size: number;
  mtime: Date;
};

/**
 * The guest file index: every entry of an indexed point's file systems, written in bulk
 * (COPY, one transaction per point: a point is indexed whole or not at all), searched by
 * name through a trigram index, and gone with its point (foreign keys, ON DELETE CASCADE).
 */
export class GuestFileIndex {
  constructor(
    private readonly db: Db,
    /** The same database, for COPY (which Prisma does not speak). */
    private readonly databaseUrl: string,
  ) {}

  /** Points of this repository whose job indexes guest files and that have no index yet, oldest first. */
  async pending(repositoryId: string): Promise<{ id: string; path: string; vmName: string; time: Date }[]> {
    const jobs = await this.db.backupJob.findMany({ where: { repositoryId }, select: jobSelect });
    const indexing = jobs.filter((j) => specOf(j).options.indexGuestFiles).map((j) => j.id);
    if (indexing.length === 0) return [];
    return this.db.restorePoint.findMany({
      where: { repositoryId, jobId: { in: indexing }, guestIndex: null },
      orderBy: { time: 'asc' },
      select: { id: true, path: true, vmName: true, time: true },
    });
  }

  /** Replaces the point's index with `entries`, in one transaction; returns how many were written. */
  async write(pointId: string, entries: AsyncIterable<IndexedEntry>, startedAt: number): Promise<number> {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    await client.connect();
    let count = 0;
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM "GuestFile" WHERE "pointId" = $1', [pointId]);
      await client.query('DELETE FROM "GuestIndex" WHERE "pointId" = $1', [pointId]);
      const copy = client.query(copyFrom('COPY "GuestFile" ("pointId", fs, path, name, type, size, mtime) FROM STDIN'));
      async function* lines() {
        for await (const e of entries) {
          count++;
          yield `${pointId}\t${copyText(e.fs)}\t${copyText(e.path)}\t${copyText(e.name)}\t${e.type}\t${Math.round(e.size)}\t${e.mtime.toISOString()}\n`;
        }
      }
      await pipeline(Readable.from(lines()), copy);
      await client.query('INSERT INTO "GuestIndex" ("pointId", state, files, "durationMs") VALUES ($1, $2, $3, $4)', [
        pointId,
        'indexed',
        count,
        Date.now() - startedAt,
      ]);
      await client.query('COMMIT');
      return count;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      await client.end();
    }
  }

  /** The point could not be indexed: recorded, so that the next indexing does not try it again and again. */
  async failed(pointId: string, error: string, startedAt: number): Promise<void> {
    await this.db.guestIndex.upsert({
      where: { pointId },
      create: { pointId, state: 'failed', error, durationMs: Date.now() - startedAt },
      update: { state: 'failed', error, durationMs: Date.now() - startedAt, indexedAt: new Date() },
    });
  }

  /**
   * Entries whose name matches `pattern` (a substring, or a pattern with `*` and `?`; case
   * ignored), optionally of one VM and points in a time range; newest point first.
   */
  async search(q: { pattern: string; vmId?: string | undefined; from?: Date | undefined; to?: Date | undefined; limit: number }): Promise<GuestFileHit[]> {
    const like = namePatternToLike(q.pattern);
    // Catalog times are UTC in `timestamp` columns: compared as UTC wall-clock text.
    const utc = (d: Date | undefined) => (d ? d.toISOString().replace('Z', '') : null);
    const from = utc(q.from);
    const to = utc(q.to);
    const rows = await this.db.$queryRaw<(Omit<GuestFileHit, 'size'> & { size: bigint })[]>`
      SELECT p.id AS "pointId", p."vmId", p."vmName", p.time AS "pointTime", f.fs, f.path, f.name, f.type, f.size, f.mtime
      FROM "GuestFile" f JOIN "RestorePoint" p ON p.id = f."pointId"
      WHERE f.name ILIKE ${like} ESCAPE '\\'
        AND (${q.vmId ?? null}::uuid IS NULL OR p."vmId" = ${q.vmId ?? null}::uuid)
        AND (${from}::timestamp IS NULL OR p.time >= ${from}::timestamp)
        AND (${to}::timestamp IS NULL OR p.time <= ${to}::timestamp)
      ORDER BY p.time DESC, f.fs, f.path
      LIMIT ${q.limit}`;
    return rows.map((r) => ({ ...r, size: Number(r.size) }));
  }

  /** The indexed points of a VM that hold `fs`/`path`, newest first, with the entry's size and time in each. */
  async versions(q: { vmId: string | null; vmName: string; fs: string; path: string }) {
    const rows = await this.db.guestFile.findMany({
      where: { fs: q.fs, path: q.path, point: q.vmId ? { vmId: q.vmId } : { vmName: q.vmName } },
      orderBy: { point: { time: 'desc' } },
      take: 500,
      select: { type: true, size: true, mtime: true, point: { select: { id: true, time: true, kind: true } } },
    });
    return rows.map((r) => ({ pointId: r.point.id, pointTime: r.point.time, pointKind: r.point.kind, type: r.type, size: Number(r.size), mtime: r.mtime }));
  }

  /** Whether each of these points is indexed (for the catalog's "indexed" mark and the versions note). */
  async states(pointIds: readonly string[]): Promise<Map<string, { state: string; files: number }>> {
    const rows = await this.db.guestIndex.findMany({ where: { pointId: { in: [...pointIds] } }, select: { pointId: true, state: true, files: true } });
    return new Map(rows.map((r) => [r.pointId, { state: r.state, files: r.files }]));
  }
}
