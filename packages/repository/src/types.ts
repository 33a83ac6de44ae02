import type { RepositoryErrorCode } from './errors.js';

export type BlockSize = 262144 | 524288 | 1048576 | 4194304;
export type Codec = 'none' | 'fast' | 'optimal' | 'high';

export type PointKind = 'full' | 'incremental';

export type DiskSummary = {
  name: string;
  size: number;
  blockSize: number;
  codec: Codec;
  /** Raw bytes of the chunks this point added to the store. */
  newBytes: number;
  /** Bytes of chunk files this point added to the store (headers included). */
  storedBytes: number;
};

export type PointSummary = {
  id: string;
  vmId: string;
  /** ISO 8601, UTC, millisecond precision. */
  time: string;
  kind: PointKind;
  parent: string | null;
  config: string | null;
  job: Record<string, unknown> | null;
  disks: DiskSummary[];
};

export type ManifestDisk = DiskSummary & {
  /** File name of the fixed index beside point.json. */
  index: string;
  blocks: number;
  zeroBlocks: number;
  /** SHA-256 (hex) of the whole index file. */
  indexSha256: string;
};

export type PointManifest = Omit<PointSummary, 'disks'> & { formatVersion: number; disks: ManifestDisk[] };

export type VerifyProblem = 'missing' | 'crc' | 'digest' | 'truncated' | 'header';

/** A file verify could not use, as the RepositoryError that said so. */
export type VerifyIssue = { code: RepositoryErrorCode; message: string };

/**
 * What verify could check of a point. `full`: point.json's checksum, each index's SHA-256
 * and its binding to the point and disk, every chunk. `sha256-only`: a point of format
 * version 1, written before point.json had a checksum and indexes a binding; its indexes
 * are checked against the SHA-256s its point.json records, and its chunks in full.
 */
export type VerifyChecks = 'full' | 'sha256-only';

export type VerifyDiskReport = {
  name: string;
  state: 'good' | 'damaged';
  /** Why the disk's index cannot be trusted (missing, damaged, not this point's); its chunks were then not checked. */
  index: VerifyIssue | null;
  /** Distinct chunks of this disk that are bad or missing (see VerifyReport.bad for which, and the ranges). */
  badChunks: number;
};

export type VerifyPointReport =
  | {
      id: string;
      /** damaged: a disk's index cannot be trusted, or a chunk it references is bad or missing. */
      state: 'good' | 'damaged';
      checks: VerifyChecks;
      /** Distinct chunks the point's readable indexes reference, all checked. */
      chunks: number;
      badChunks: number;
      disks: VerifyDiskReport[];
    }
  /** Its point.json cannot be read (damaged, changed, a newer format, absent when asked for by id). */
  | { id: string; state: 'unreadable'; error: VerifyIssue };

export type VerifyReport = {
  /** Distinct chunks checked, over the indexes that could be read. */
  chunksChecked: number;
  bad: {
    digest: string;
    problem: VerifyProblem;
    points: string[];
    ranges: { pointId: string; disk: string; offset: number; length: number }[];
  }[];
  /** Every point verify was asked for: in the order of `pointIds`, or every point in the catalog's order (time, then id). */
  points: VerifyPointReport[];
  /** points.length: pointsGood + pointsDamaged + pointsUnreadable. */
  pointsChecked: number;
  pointsGood: number;
  pointsDamaged: number;
  pointsUnreadable: number;
};

export type GcReport = { chunksDeleted: number; bytesFreed: number; debrisRemoved: number; keptYoung: number };

export type RepositoryStats = { points: number; chunks: number; bytes: number };
