/**
 * Dev-only: the phases of `pnpm bench` for Strongbox alone, on a sparse copy of the bench's
 * cached image (.data/bench/image-<seed>-<size>.raw, made by `pnpm bench`), with its own
 * rewrite plan. Nothing of the bench's cache is modified.
 *   npx tsx packages/pipeline/bench/on-bench-image.ts [--seed 1] [--size 4294967296] [--dir /var/tmp/sb-bench] [--drop-caches]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { coalesce, planRewrite } from '../../../scripts/bench/layout.js';
import { Repository } from '../../repository/src/index.js';
import { FileDiskReader, backupDisk, restoreDisk } from '../src/index.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    size: { type: 'string', default: String(4 * 2 ** 30) },
    dir: { type: 'string', default: '/var/tmp/sb-bench' },
    'drop-caches': { type: 'boolean', default: false },
  },
});
const root = resolve(import.meta.dirname, '../../..');
const size = Number(values.size);
const dir = values.dir!;
const MiB = 2 ** 20;
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const image = join(dir, 'image.raw');
execFileSync('cp', ['--sparse=always', join(root, '.data/bench', `image-${values.seed}-${size}.raw`), image]);
const drop = () => {
  execFileSync('sync');
  if (values['drop-caches']) execFileSync('sh', ['-c', 'echo 3 > /proc/sys/vm/drop_caches']);
};
const repo = await Repository.create(join(dir, 'repo'));
const phase = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
  drop();
  const t = performance.now();
  const r = await f();
  console.log(`${name}: ${((performance.now() - t) / 1000).toFixed(2)} s`);
  return r;
};
const backup = async (parent: string | null, changed: { offset: number; length: number }[] | null) => {
  const reader = await FileDiskReader.open(image, changed ? { changed } : {});
  const writer = await repo.beginPoint({ vmId: 'bench', kind: parent ? 'incremental' : 'full', parent, config: null });
  const { stats } = await backupDisk(writer, 'vda', reader);
  await reader.close();
  const m = await writer.commit();
  console.log(
    `  read ${(stats.bytesRead / MiB).toFixed(0)} MiB, ${stats.newChunks} new chunks, ${(stats.bytesWritten / MiB).toFixed(0)} MiB written; busy ${Object.entries(
      stats.busy,
    )
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ')}; bottleneck ${stats.bottleneck}`,
  );
  return m.id;
};
const full = await phase('full', () => backup(null, null));
const plan = planRewrite(size, values.seed!);
execFileSync('npx', ['tsx', join(root, 'scripts/bench/prepare.ts'), 'rewrite', image, String(size), values.seed!], { stdio: ['ignore', 'ignore', 'inherit'] });
const incr = await phase('incremental', () => backup(full, coalesce(plan)));
const du = Number(execFileSync('du', ['-sB1', join(dir, 'repo')], { encoding: 'utf8' }).split('\t')[0]);
console.log(`repository: ${(du / 1e6).toFixed(0)} MB (du)`);
const out = join(dir, 'restored.raw');
await phase('restore (+fsync)', async () => {
  const reader = await repo.openPoint(incr);
  await restoreDisk(reader, 'vda', out);
  execFileSync('sync', [out]);
});
const same = execFileSync('cmp', [image, out], { encoding: 'utf8' }) === '';
console.log(`restored identical: ${same}; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
rmSync(dir, { recursive: true, force: true });
