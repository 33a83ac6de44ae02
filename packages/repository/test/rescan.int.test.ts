import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository } from '../src/index.js';
import { makePoint, tempDir } from './helpers.js';

const tmp = tempDir('rescan');
afterAll(tmp.cleanup);

describe('rescan', () => {
  it('lists the same points from a copy of the folder', async () => {
    const repo = await Repository.create(join(tmp.dir, 'orig'));
    const a = await makePoint(repo, 'vm-a', [1, null, 2]);
    const b = await makePoint(repo, 'vm-a', [1, 3, 2], { parent: a.id });
    await makePoint(repo, 'vm-b', [4]);
    const unfinished = await repo.beginPoint({ vmId: 'vm-b', kind: 'full', parent: null, config: null });
    execFileSync('cp', ['-a', repo.path, join(tmp.dir, 'copy')]);
    await unfinished.abort();
    const copy = await Repository.open(join(tmp.dir, 'copy'));
    expect(copy.id).toBe(repo.id);
    const listed = await repo.listPoints();
    expect(await copy.rescan()).toEqual(listed);
    expect(await copy.listPoints()).toEqual(listed);
    expect(listed.map((p) => p.vmId)).toEqual(['vm-a', 'vm-a', 'vm-b']);
    expect((await copy.listPoints('vm-a')).map((p) => p.id)).toEqual([a.id, b.id]);
    expect(listed[1]).toMatchObject({ kind: 'incremental', parent: a.id, config: '<domain/>' });
    expect((await copy.scan()).unfinished).toHaveLength(1);
    const reader = await copy.openPoint(b.id);
    const orig = await repo.openPoint(b.id);
    expect((await reader.disk('vda').read(0, 3 * 262144)).equals(await orig.disk('vda').read(0, 3 * 262144))).toBe(true);
  });
});
