import { RepositoryError } from './errors.js';
import { POINT_FORMAT_VERSION, isBlockSize, isCodec } from './format.js';
import type { ManifestDisk, PointManifest, PointSummary } from './types.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parses and checks point.json; a version this build does not know is POINT_VERSION, anything malformed POINT_CORRUPT. */
export function parseManifest(text: string, where: string, expectedId: string): PointManifest {
  const corrupt = (why: string) => new RepositoryError('POINT_CORRUPT', `${where}: ${why}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new RepositoryError('POINT_CORRUPT', `${where}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (!isObj(raw)) throw corrupt('not a JSON object');
  if (raw.formatVersion !== POINT_FORMAT_VERSION) {
    throw new RepositoryError(
      'POINT_VERSION',
      `${where}: point format version ${JSON.stringify(raw.formatVersion)} is not supported (this build reads ${POINT_FORMAT_VERSION}); upgrade Strongbox to read it`,
    );
  }
  if (raw.id !== expectedId) throw corrupt(`id ${JSON.stringify(raw.id)} does not match its folder (${expectedId})`);
  if (typeof raw.vmId !== 'string' || typeof raw.time !== 'string' || Number.isNaN(Date.parse(raw.time))) throw corrupt('vmId or time missing');
  if (raw.kind !== 'full' && raw.kind !== 'incremental') throw corrupt(`kind ${JSON.stringify(raw.kind)}`);
  if (!isStrOrNull(raw.parent) || !isStrOrNull(raw.config)) throw corrupt('parent or config malformed');
  if (raw.job !== null && !isObj(raw.job)) throw corrupt('job malformed');
  if (!Array.isArray(raw.disks)) throw corrupt('disks missing');
  const disks: ManifestDisk[] = raw.disks.map((d: unknown, i: number) => {
    if (!isObj(d) || typeof d.name !== 'string' || typeof d.index !== 'string' || typeof d.indexSha256 !== 'string') throw corrupt(`disk ${i} malformed`);
    if (!isCount(d.size) || !isBlockSize(d.blockSize) || !isCodec(d.codec)) throw corrupt(`disk ${d.name}: size, block size or codec malformed`);
    if (!isCount(d.blocks) || !isCount(d.zeroBlocks) || !isCount(d.newBytes) || !isCount(d.storedBytes)) throw corrupt(`disk ${d.name}: counters malformed`);
    if (d.index.includes('/') || d.index.startsWith('.')) throw corrupt(`disk ${d.name}: index name ${JSON.stringify(d.index)}`);
    return {
      name: d.name,
      size: d.size,
      blockSize: d.blockSize,
      codec: d.codec,
      newBytes: d.newBytes,
      storedBytes: d.storedBytes,
      index: d.index,
      blocks: d.blocks,
      zeroBlocks: d.zeroBlocks,
      indexSha256: d.indexSha256,
    };
  });
  return {
    formatVersion: POINT_FORMAT_VERSION,
    id: raw.id,
    vmId: raw.vmId,
    time: raw.time,
    kind: raw.kind,
    parent: raw.parent,
    config: raw.config,
    job: (raw.job as Record<string, unknown> | null) ?? null,
    disks,
  };
}

export function toSummary(m: PointManifest): PointSummary {
  return {
    id: m.id,
    vmId: m.vmId,
    time: m.time,
    kind: m.kind,
    parent: m.parent,
    config: m.config,
    job: m.job,
    disks: m.disks.map((d) => ({ name: d.name, size: d.size, blockSize: d.blockSize, codec: d.codec, newBytes: d.newBytes, storedBytes: d.storedBytes })),
  };
}
