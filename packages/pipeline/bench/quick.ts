/**
 * Dev-only timing of the pipeline (not a test, not the product bench):
 *   npx tsx packages/pipeline/bench/quick.ts [--gib 4] [--dir /var/tmp/sb-quick] [--codec optimal]
 * Builds an image like scripts/bench's (25% zeros, 35% text, 25% random, a 64 MiB region
 * repeated), then times a full backup, a 5% scattered incremental with its extent list,
 * and a restore to a file; prints store size and peak RSS.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Repository, type Codec } from '../../repository/src/index.js';
import { FileDiskReader, backupDisk, restoreDisk } from '../src/index.js';

const { values } = parseArgs({
  options: { gib: { type: 'string', default: '4' }, dir: { type: 'string', default: '/var/tmp/sb-quick' }, codec: { type: 'string', default: 'optimal' } },
});
const MiB = 2 ** 20;
const size = Number(values.gib) * 1024 * MiB;
const dir = values.dir!;
mkdirSync(dir, { recursive: true });
const image = join(dir, `image-${values.gib}.raw`);

const words =
  'the of and to in is was that for on as with by he at from his an were are which this be or has had not but first one their its new after who they have her she two been other when there all during into school time may years more most only over city some world would where later up such used many can state about national out known university united then made'.split(
    ' ',
  );
function textBlock(n: number): Buffer {
  const parts: string[] = [];
  let len = 0;
  while (len < n) {
    const k = 6 + Math.floor(Math.random() * 10);
    let line = '';
    for (let i = 0; i < k; i++) line += words[Math.floor(Math.random() * words.length)] + ' ';
    line += `${Math.floor(Math.random() * 100000)}\n`;
    parts.push(line);
    len += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

if (!existsSync(image)) {
  const fd = openSync(image, 'w');
  const region = 16 * MiB;
  const kinds: string[] = [];
  const n = size / region;
  for (let i = 0; i < n; i++) kinds.push(i < n * 0.25 ? 'zero' : i < n * 0.6 ? 'text' : i < n * 0.85 ? 'rand' : 'rep');
  kinds.sort(() => Math.random() - 0.5);
  const repeated = Buffer.concat([textBlock(32 * MiB), randomBytes(32 * MiB)]);
  let repAt = 0;
  for (let i = 0; i < n; i++) {
    const at = i * region;
    if (kinds[i] === 'zero') continue;
    let data: Buffer;
    if (kinds[i] === 'text') data = textBlock(region);
    else if (kinds[i] === 'rand') data = randomBytes(region);
    else {
      data = repeated.subarray(repAt, repAt + region);
      repAt = (repAt + region) % repeated.length;
    }
    writeSync(fd, data, 0, data.length, at);
  }
  closeSync(fd);
  execFileSync('truncate', ['-s', String(size), image]);
}

const repoDir = join(dir, 'repo');
rmSync(repoDir, { recursive: true, force: true });
const repo = await Repository.create(repoDir);
const codec = values.codec as Codec;

async function backup(kind: 'full' | 'incremental', parent: string | null, changed?: { offset: number; length: number }[]) {
  const t = performance.now();
  const writer = await repo.beginPoint({ vmId: 'bench', kind, parent, config: null, codec });
  const reader = await FileDiskReader.open(image, changed ? { changed } : {});
  const { stats } = await backupDisk(writer, 'vda', reader);
  await reader.close();
  const tc = performance.now();
  const m = await writer.commit();
  const ms = performance.now() - t;
  console.log(`  (commit ${((performance.now() - tc) / 1000).toFixed(2)} s)`);
  console.log(
    `${kind}: ${(ms / 1000).toFixed(2)} s, read ${(stats.bytesRead / MiB).toFixed(0)} MiB, ${stats.newChunks} new chunks, written ${(stats.bytesWritten / MiB).toFixed(0)} MiB, busy ${JSON.stringify(Object.fromEntries(Object.entries(stats.busy).map(([k, v]) => [k, +v.toFixed(2)])))} bottleneck ${stats.bottleneck}`,
  );
  return m.id;
}

execFileSync('sh', ['-c', `cat ${image} > /dev/null; sync`]);
const full = await backup('full', null);
// 5% rewritten in scattered 1 MiB pieces at 4 KiB-aligned offsets.
// The originals go to an undo file, put back at the end, so the image stays the same between runs.
const changed: { offset: number; length: number }[] = [];
const fd = openSync(image, 'r+');
const undo = openSync(join(dir, 'undo'), 'w+');
for (let i = 0; i < (size * 0.05) / MiB; i++) {
  const offset = Math.floor(Math.random() * ((size - MiB) / 4096)) * 4096;
  const old = Buffer.alloc(MiB);
  readSync(fd, old, 0, MiB, offset);
  writeSync(undo, old, 0, MiB, i * MiB);
  writeSync(fd, randomBytes(MiB), 0, MiB, offset);
  changed.push({ offset, length: MiB });
}
const incr = await backup('incremental', full, changed);
const du = execFileSync('du', ['-sb', repoDir], { encoding: 'utf8' }).split('\t')[0];
console.log(`repository: ${(Number(du) / 1e6).toFixed(0)} MB`);
execFileSync('sync');
const reader = await repo.openPoint(incr);
const out = join(dir, 'restored.raw');
const t = performance.now();
await restoreDisk(reader, 'vda', out);
console.log(`restore: ${((performance.now() - t) / 1000).toFixed(2)} s`);
const same = execFileSync('cmp', [image, out]).toString() === '';
console.log(`restored image identical: ${same}; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
rmSync(out, { force: true });
const tiny = await backup('incremental', incr, [{ offset: 0, length: 4096 }]);
void tiny;
for (let i = changed.length - 1; i >= 0; i--) {
  const old = Buffer.alloc(MiB);
  readSync(undo, old, 0, MiB, i * MiB);
  writeSync(fd, old, 0, MiB, changed[i]!.offset);
}
closeSync(fd);
closeSync(undo);
