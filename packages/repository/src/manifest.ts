import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { RepositoryError } from './errors.js';
import { READABLE_POINT_VERSIONS, isBlockSize, isCodec } from './format.js';
import type { ManifestDisk, PointManifest, PointSummary } from './types.js';

/** The member of point.json that holds its checksum (FORMAT.md "point.json"). */
export const MANIFEST_CHECKSUM = 'sha256';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Hex SHA-256 of the canonical JSON (RFC 8785) of point.json's object without its checksum member. */
export function manifestSha256(body: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(body), 'utf8').digest('hex');
}

/** The text of point.json for a manifest: the manifest with its checksum as the last member. */
export function formatManifest(m: PointManifest): string {
  // The checksum covers what a reader will parse back (undefined members dropped, toJSON applied), not the object in memory.
  const body = JSON.parse(JSON.stringify(m)) as Record<string, unknown>;
  delete body[MANIFEST_CHECKSUM];
  return JSON.stringify({ ...body, [MANIFEST_CHECKSUM]: manifestSha256(body) }, null, 2) + '\n';
}

/**
 * Checks point.json's checksum: required from version 2 on, checked in version 1 too when
 * present, so that a version digit damaged back to 1 does not switch the check off.
 */
function checkChecksum(raw: Record<string, unknown>, version: number, where: string): void {
  const { [MANIFEST_CHECKSUM]: recorded, ...body } = raw;
  if (recorded === undefined && version < 2) return;
  if (typeof recorded !== 'string') throw new RepositoryError('POINT_CORRUPT', `${where}: checksum (${MANIFEST_CHECKSUM}) missing or malformed`);
  const actual = manifestSha256(body);
  if (actual !== recorded)
    throw new RepositoryError(
      'POINT_CORRUPT',
      `${where}: content does not match its checksum (SHA-256 ${actual.slice(0, 16)}…, the file records ${recorded.slice(0, 16)}…): point.json was changed or damaged`,
    );
}

/** Parses and checks point.json; a version this build does not know is POINT_VERSION, anything malformed or changed POINT_CORRUPT. */
export function parseManifest(text: string, where: string, expectedId: string): PointManifest {
  const corrupt = (why: string) => new RepositoryError('POINT_CORRUPT', `${where}: ${why}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new RepositoryError('POINT_CORRUPT', `${where}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (!isObj(raw)) throw corrupt('not a JSON object');
  const version = raw.formatVersion;
  // The version comes before the checksum: a newer version may checksum differently.
  if (typeof version !== 'number' || !READABLE_POINT_VERSIONS.includes(version)) {
    throw new RepositoryError(
      'POINT_VERSION',
      `${where}: point format version ${JSON.stringify(version)} is not supported (this build reads ${READABLE_POINT_VERSIONS.join(', ')}); upgrade Strongbox to read it`,
    );
  }
  checkChecksum(raw, version, where);
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
    formatVersion: version,
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
