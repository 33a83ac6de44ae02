import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HypervisorError } from '../errors.js';
import type { ImageFormat, StoragePool } from '../types.js';
import { imageUsers, lines } from './image-users.js';
import type { Virsh } from './virsh.js';
import { node, parseXml, text } from './xml.js';

const NO_VOLUME = /Storage volume not found|no storage vol/i;
const NO_POOL = /Storage pool not found|no storage pool/i;
/** Pools whose volumes are files: a sparse image takes only the space of its data there. */
const FILE_POOLS = ['dir', 'fs', 'netfs', 'gluster'];

const bytes = (v: unknown) => {
  const n = Number(text(v));
  return Number.isFinite(n) ? n : 0;
};

/** Every pool, active ones refreshed first so that their figures and volumes are current. */
export async function listPools(virsh: Virsh): Promise<StoragePool[]> {
  const active = new Set(lines(await virsh.run(['pool-list', '--name']))); // active ones: pool-list's default
  const pools: StoragePool[] = [];
  for (const name of lines(await virsh.run(['pool-list', '--all', '--name']))) {
    if (active.has(name)) {
      // A pool whose storage went away cannot refresh: it is listed with libvirt's last figures rather than hiding the others.
      await virsh.tryRun(['pool-refresh', name], /./);
    }
    const xml = await virsh.tryRun(['pool-dumpxml', name], NO_POOL);
    if (!xml) continue; // undefined meanwhile
    const pool = node(parseXml(xml, `XML of storage pool ${name}`).pool);
    pools.push({
      name,
      type: String(pool['@type'] ?? ''),
      path: text(node(pool.target).path) ?? null,
      capacityBytes: bytes(pool.capacity),
      availableBytes: bytes(pool.available),
      active: active.has(name),
    });
  }
  return pools;
}

async function activePool(virsh: Virsh, name: string): Promise<StoragePool> {
  const pool = (await listPools(virsh)).find((p) => p.name === name);
  if (!pool) throw new HypervisorError('HV_RESTORE', `there is no storage pool "${name}" on ${virsh.uri}`);
  if (!pool.active) throw new HypervisorError('HV_RESTORE', `storage pool "${name}" is not active: start it (virsh pool-start ${name})`);
  return pool;
}

export function checkVolumeName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name) || name.length > 200) {
    throw new HypervisorError('HV_RESTORE', `"${name}" is not a volume name: letters, digits and . _ + - only, starting with a letter or digit`);
  }
}

/**
 * Space a new image takes in a pool: its data in a file pool (images are sparse), plus for
 * qcow2 its metadata, a cluster each: header, refcount table, refcount block, L1 table, and
 * the L2 tables (one per `cluster × cluster/8` bytes of capacity); its whole capacity
 * elsewhere (a logical volume is allocated whole).
 */
export function spaceNeeded(pool: Pick<StoragePool, 'type'>, capacityBytes: number, neededBytes: number, format: ImageFormat): number {
  if (!FILE_POOLS.includes(pool.type)) return capacityBytes;
  if (format === 'raw') return neededBytes;
  const cluster = RESTORED_QCOW2_CLUSTER_BYTES;
  const l2Tables = Math.ceil(capacityBytes / ((cluster * cluster) / 8));
  return neededBytes + (4 + l2Tables) * cluster;
}

/**
 * The cluster size of the qcow2 images a restore makes: Strongbox's block size (1 MiB), so
 * that each block the restore writes allocates one cluster and one L2 entry. With qcow2's
 * default 64 KiB clusters, a restore through qemu-nbd with O_DIRECT ran at half the rate
 * (2 GiB of random data by nbdcopy, 4 connections: 5.1–5.4 s against 2.4–2.6 s; 2 MiB
 * gave nothing more). A VM on a 1 MiB-cluster image allocates in larger steps; qemu
 * documents that as the faster choice for large images (`qemu-img create -o cluster_size`).
 */
export const RESTORED_QCOW2_CLUSTER_BYTES = 1024 * 1024;

/** libvirt's XML of a new volume: no allocation (sparse; without it a raw volume is allocated whole). */
function volumeXml(name: string, capacityBytes: number, format: ImageFormat): string {
  // checkVolumeName allows no character that XML would need escaped.
  const cluster = format === 'qcow2' ? `<clusterSize unit='B'>${RESTORED_QCOW2_CLUSTER_BYTES}</clusterSize>` : '';
  return `<volume><name>${name}</name><capacity unit='B'>${capacityBytes}</capacity><allocation unit='B'>0</allocation><target><format type='${format}'/>${cluster}</target></volume>`;
}

/** A new, empty, sparse image in a pool (qcow2 without preallocated metadata, or raw). */
export async function createVolume(
  virsh: Virsh,
  poolName: string,
  name: string,
  capacityBytes: number,
  format: ImageFormat,
  neededBytes = capacityBytes,
): Promise<{ path: string }> {
  checkVolumeName(name);
  if (!Number.isSafeInteger(capacityBytes) || capacityBytes <= 0)
    throw new HypervisorError('HV_RESTORE', `a volume's capacity must be a positive byte count, not ${capacityBytes}`);
  if (!Number.isSafeInteger(neededBytes) || neededBytes < 0)
    throw new HypervisorError('HV_RESTORE', `the bytes a restore needs must be a byte count, not ${neededBytes}`);
  const pool = await activePool(virsh, poolName);
  if (format === 'qcow2' && !FILE_POOLS.includes(pool.type)) {
    throw new HypervisorError('HV_UNSUPPORTED', `storage pool "${poolName}" is a ${pool.type} pool: its volumes are raw, not qcow2`);
  }
  if (await virsh.tryRun(['vol-info', '--pool', poolName, name], NO_VOLUME)) {
    throw new HypervisorError('HV_EXISTS', `storage pool "${poolName}" already has a volume "${name}"`);
  }
  const needed = spaceNeeded(pool, capacityBytes, neededBytes, format);
  if (pool.availableBytes < needed) {
    throw new HypervisorError(
      'HV_NO_SPACE',
      `storage pool "${poolName}" has ${gib(pool.availableBytes)} available; volume "${name}" needs ${gib(needed)} (${gib(neededBytes)} of data, ${gib(capacityBytes)} capacity)`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'strongbox-vol-'));
  try {
    const file = join(dir, 'volume.xml');
    await writeFile(file, volumeXml(name, capacityBytes, format), { mode: 0o600 });
    await virsh.run(['vol-create', poolName, file]);
  } catch (e) {
    if (/already exists|exists already/i.test((e as Error).message)) {
      throw new HypervisorError('HV_EXISTS', `storage pool "${poolName}" already has a volume "${name}"`, { cause: e });
    }
    throw e;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  try {
    return { path: (await virsh.run(['vol-path', '--pool', poolName, name])).trim() };
  } catch (e) {
    await virsh.tryRun(['vol-delete', '--pool', poolName, name], NO_VOLUME);
    throw e;
  }
}

/** Deletes a volume; one already gone (or whose pool is gone) is fine. Refuses a volume any defined VM uses. */
export async function deleteVolume(virsh: Virsh, poolName: string, name: string, resolve?: (p: string) => string): Promise<void> {
  checkVolumeName(name);
  // A volume made since the pool's last refresh is unknown to libvirt until it refreshes; one that cannot refresh answers from its last listing.
  await virsh.tryRun(['pool-refresh', poolName], /./);
  // A pool that no longer exists holds no volume either.
  const path = (await virsh.tryRun(['vol-path', '--pool', poolName, name], new RegExp(`${NO_VOLUME.source}|${NO_POOL.source}`, 'i')))?.trim();
  if (!path) return;
  const users = await imageUsers(virsh, path, resolve);
  if (users.length > 0) {
    throw new HypervisorError('HV_BUSY', `volume "${name}" of pool "${poolName}" is a disk of VM ${users.map((u) => u.vm).join(', ')}: not deleted`);
  }
  await virsh.tryRun(['vol-delete', '--pool', poolName, name], NO_VOLUME);
}

const gib = (n: number) => `${(n / 2 ** 30).toFixed(n < 2 ** 30 ? 2 : 1)} GiB`;
