/**
 * pnpm backup:vm <vm> --repo <path> [--full] [--uri URI] [--require-quiesce] [--work-dir DIR]
 *
 * A developer command (jobs come with the scheduler): one full or incremental backup of a
 * libvirt VM into a Strongbox repository. The checkpoint of each point is kept in the
 * point's `job` record; the next run reads only what changed since it, when the
 * connector trusts the chain.
 */
import { messageOf } from '@strongbox/core';
import { LibvirtConnector, type BackupView } from '../packages/hypervisors/src/index.js';
import { backupDisk } from '../packages/pipeline/src/index.js';
import { Repository, type PointSummary } from '../packages/repository/src/index.js';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    repo: { type: 'string' },
    full: { type: 'boolean', default: false },
    uri: { type: 'string', default: 'qemu:///system' },
    'require-quiesce': { type: 'boolean', default: false },
    'work-dir': { type: 'string' },
  },
});

async function main(): Promise<void> {
  const vmName = positionals[0];
  if (!vmName || !values.repo) throw new Error('usage: pnpm backup:vm <vm> --repo <path> [--full] [--uri URI] [--require-quiesce]');
  const repo = await Repository.openOrCreate(values.repo);
  const connector = await LibvirtConnector.connect({ uri: values.uri!, workDir: values['work-dir'] });
  const vm = await connector.getVm(vmName);
  const points = await repo.listPoints(vm.uuid);
  const last: PointSummary | undefined = points[points.length - 1];
  const lastCheckpoint = typeof last?.job?.checkpoint === 'string' ? last.job.checkpoint : null;
  const since = values.full ? null : lastCheckpoint;
  const started = Date.now();
  const view: BackupView = await connector.openBackup({ vm: vm.name, sinceCheckpoint: since, requireQuiesce: values['require-quiesce'] });
  for (const line of view.log) console.log(`${line.level.toUpperCase()} ${line.code}: ${line.message}`);
  const incremental = view.base !== null && view.base === lastCheckpoint && last !== undefined;
  const writer = await repo.beginPoint({
    vmId: vm.uuid,
    kind: incremental ? 'incremental' : 'full',
    parent: incremental ? last.id : null,
    config: view.configXml,
    job: { vmName: vm.name, checkpoint: view.checkpoint, base: view.base, consistency: view.consistency, log: view.log },
  });
  // Ctrl-C or a stop: end the export and drop the new checkpoint before leaving, as on failure.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`backup:vm: ${signal}: cancelling`);
    void writer
      .abort()
      .then(() => view.release('failure'))
      .then(
        () => process.exit(130),
        (e: Error) => (console.error(`backup:vm: cleanup after ${signal} failed: ${e.message}`), process.exit(1)),
      );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  try {
    for (const disk of view.disks) {
      const reader = await view.openReader(disk.target);
      try {
        const { stats } = await backupDisk(writer, disk.target, reader);
        console.log(
          `${disk.target}: ${disk.mode === 'changed' ? 'changed blocks' : 'whole disk'}, read ${(stats.bytesRead / 2 ** 20).toFixed(1)} MiB, ` +
            `${stats.newChunks} new chunks (${(stats.bytesWritten / 2 ** 20).toFixed(1)} MiB written), ${stats.carriedBlocks} blocks carried`,
        );
      } finally {
        await reader.close();
      }
    }
    const manifest = await writer.commit();
    await view.release('success');
    console.log(`${vm.name}: ${manifest.kind} point ${manifest.time} (${view.consistency}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    await writer.abort();
    await view.release('failure');
    throw e;
  }
}

main().catch((e: unknown) => {
  const code = e && typeof e === 'object' && 'code' in e ? `${String((e as { code: unknown }).code)}: ` : '';
  console.error(`backup:vm: ${code}${messageOf(e)}`);
  process.exit(1);
});
