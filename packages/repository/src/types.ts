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

export type VerifyReport = {
  chunksChecked: number;
  bad: {
    digest: string;
    problem: VerifyProblem;
    points: string[];
    ranges: { pointId: string; disk: string; offset: number; length: number }[];
  }[];
};

export type GcReport = { chunksDeleted: number; bytesFreed: number; debrisRemoved: number; keptYoung: number };

export type RepositoryStats = { points: number; chunks: number; bytes: number };
