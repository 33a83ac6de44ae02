import { RESTORED_QCOW2_CLUSTER_BYTES, type LibvirtConnector } from '../../packages/hypervisors/src/index.js';
import { NbdClient, NbdDiskWriter } from '../../packages/nbd/src/index.js';
import { differingBlocks, restoreDiskToNbd, type RestoreToNbdResult } from '../../packages/pipeline/src/index.js';
import type { Repository } from '../../packages/repository/src/index.js';
import { DISK } from './ours.js';
import { exec } from './tools.js';

/**
 * Restores through NBD as the mover does (apps/worker/src/mover/run-restore.ts): the
 * image is served writable by the connector's qemu-nbd (`--cache=none --aio=native
 * --discard=unmap`, 4 connections), written by restoreDiskToNbd through an NbdDiskWriter,
 * flushed once at the end (the FLUSH is what the file restore's fsync is), and the
 * export is closed (qemu-nbd syncs and closes the image) before the clock stops.
 */

export type NbdRestore = {
  result: RestoreToNbdResult;
  /** Seconds making the image and opening its export and the client. */
  setupS: number;
  /** Seconds of restoreDiskToNbd, its final flush included. */
  writeS: number;
  /** Seconds closing the client and the export. */
  closeS: number;
};

type Open = { close(): Promise<void> };
/** What is open now, so that a Ctrl-C stops qemu-nbd before the run directory goes. */
const open = new Set<Open>();
let stopping = false;

export async function closeOpenExports(): Promise<void> {
  stopping = true;
  for (const o of [...open]) await o.close();
}

async function writeThroughExport(
  connector: LibvirtConnector,
  path: string,
  write: (writer: NbdDiskWriter) => Promise<RestoreToNbdResult>,
  started: number,
): Promise<NbdRestore> {
  const exported = await connector.openImageExport(path, 'qcow2');
  open.add(exported);
  try {
    // A Ctrl-C while the export was starting: closeOpenExports did not see it.
    if (stopping) throw new Error('stopped');
    const client = await NbdClient.connect({ endpoint: exported.endpoint, exportName: exported.exportName, connections: 4 });
    try {
      const writing = performance.now();
      const result = await write(new NbdDiskWriter(client));
      const closing = performance.now();
      await client.close();
      await exported.close();
      const done = performance.now();
      return { result, setupS: (writing - started) / 1000, writeS: (closing - writing) / 1000, closeS: (done - closing) / 1000 };
    } finally {
      await client.close();
    }
  } finally {
    await exported.close();
    open.delete(exported);
  }
}

/** A point's disk into a new qcow2 image at `path`: zero blocks are not written (a new image reads as zeros there). */
export async function restoreToNewQcow2(connector: LibvirtConnector, repo: Repository, pointId: string, path: string): Promise<NbdRestore> {
  const started = performance.now();
  const reader = await repo.openPoint(pointId);
  try {
    // The image as the connector's createVolume makes it for a restore: 1 MiB clusters.
    await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `cluster_size=${RESTORED_QCOW2_CLUSTER_BYTES}`, path, String(reader.disk(DISK).size)]);
    return await writeThroughExport(connector, path, (w) => restoreDiskToNbd(reader, DISK, w, { zeroBlocks: 'skip' }), started);
  } finally {
    await reader.close();
  }
}

/**
 * Quick rollback of an image that holds point `from` back to point `to`: only the blocks
 * whose digests differ between the two points are written (zero blocks as zeroes, so the
 * newer data cannot show through). A VM's disk would add the blocks its dirty bitmap
 * marks since its latest checkpoint; the bench's image has not changed since `from`.
 */
export async function rollBack(
  connector: LibvirtConnector,
  repo: Repository,
  image: string,
  from: string,
  to: string,
): Promise<NbdRestore & { differing: number; blockCount: number }> {
  const started = performance.now();
  const [holds, wanted] = await Promise.all([repo.openPoint(from), repo.openPoint(to)]);
  try {
    const differing = differingBlocks(wanted.disk(DISK), holds.disk(DISK));
    const r = await writeThroughExport(
      connector,
      image,
      (w) => restoreDiskToNbd(wanted, DISK, w, { zeroBlocks: 'write-zeroes', only: (b) => differing.has(b) }),
      started,
    );
    return { ...r, differing: differing.count, blockCount: differing.blockCount };
  } finally {
    await Promise.all([holds.close(), wanted.close()]);
  }
}
