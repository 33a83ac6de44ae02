// Child of control.int.test.ts: one backup and one restore, then nothing; the process
// must exit on its own (no worker thread, timer or handle left behind).
import { Repository } from '@strongbox/repository';
import { FileDiskReader, backupDisk, restoreDisk } from '../src/index.js';

const [repoPath, image, out] = process.argv.slice(2) as [string, string, string];
const repo = await Repository.create(repoPath);
const writer = await repo.beginPoint({ vmId: 'vm1', kind: 'full', parent: null, config: null });
const reader = await FileDiskReader.open(image);
await backupDisk(writer, 'vda', reader, { onProgress: () => undefined, progressMs: 10 });
await reader.close();
const m = await writer.commit();
const point = await repo.openPoint(m.id);
await restoreDisk(point, 'vda', out, { onProgress: () => undefined });
await point.close();
await repo.verify();
console.log('done');
