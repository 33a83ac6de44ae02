// Child of crash.int.test.ts: writes points into a repository until it is killed.
import { Repository } from '@strongbox/repository';
import { FileDiskReader, backupDisk } from '../src/index.js';

const [repoPath, image] = process.argv.slice(2) as [string, string];
const repo = await Repository.open(repoPath);
let parent: string | null = null;
for (let i = 0; ; i++) {
  const writer = await repo.beginPoint({
    vmId: 'vm1',
    kind: parent ? 'incremental' : 'full',
    parent,
    config: null,
    blockSize: 262144,
    codec: i % 2 ? 'fast' : 'none',
  });
  console.log(`begun ${writer.id}`);
  for (const disk of ['vda', 'vdb']) {
    const reader = await FileDiskReader.open(image, parent && disk === 'vda' ? { changed: [{ offset: 0, length: 1 << 20 }] } : {});
    await backupDisk(writer, disk, reader);
    await reader.close();
  }
  const m = await writer.commit();
  parent = m.id;
  console.log(`committed ${m.id}`);
}
