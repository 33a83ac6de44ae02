import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { POINT_FORMAT_VERSION, Repository, RepositoryError } from '../src/index.js';
import { block, makePoint, randomBlock, tempDir, writeDisk } from './helpers.js';

const tmp = tempDir('bad-input');
afterAll(tmp.cleanup);

const snapshot = (dir: string) => execFileSync('sh', ['-c', `cd '${dir}' && find . -type f -print0 | sort -z | xargs -0 sha256sum`], { encoding: 'utf8' });
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof RepositoryError ? e.code : String(e)),
  );

describe('bad input', () => {
  it('refuses to create a repository in a non-empty folder or over a repository', async () => {
    const dir = join(tmp.dir, 'busy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    expect(await codeOf(Repository.create(dir))).toBe('REPO_EXISTS');
    expect(readdirSync(dir)).toEqual(['notes.txt']);
    const repo = await Repository.create(join(tmp.dir, 'twice'));
    expect(await codeOf(Repository.create(repo.path))).toBe('REPO_EXISTS');
    expect(await codeOf(Repository.open(join(tmp.dir, 'nothing-here')))).toBe('REPO_NOT_FOUND');
  });

  it('a corrupt or newer strongbox.json is a clear error and nothing changes', async () => {
    const repo = await Repository.create(join(tmp.dir, 'corrupt'));
    await makePoint(repo, 'vm1', [1, 2]);
    const file = join(repo.path, 'strongbox.json');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.slice(0, 40));
    const before = snapshot(repo.path);
    const err = await Repository.open(repo.path).catch((e: RepositoryError) => e);
    expect(err).toBeInstanceOf(RepositoryError);
    expect((err as RepositoryError).code).toBe('REPO_CORRUPT');
    expect((err as RepositoryError).message).toMatch(/strongbox\.json is not valid JSON/);
    expect(await codeOf(Repository.create(repo.path))).toBe('REPO_EXISTS');
    writeFileSync(file, good.replace('"formatVersion": 1', '"formatVersion": 7'));
    expect(await codeOf(Repository.open(repo.path))).toBe('REPO_VERSION');
    writeFileSync(file, good.slice(0, 40));
    expect(snapshot(repo.path)).toBe(before);
  });

  it('a point of an unknown format version is refused, and GC will not guess at it', async () => {
    const repo = await Repository.create(join(tmp.dir, 'future'));
    const old = await makePoint(repo, 'vm1', [1, 2]);
    const future = await makePoint(repo, 'vm1', [3, 4]);
    const file = join(repo.path, 'points', ...future.id.split('/'), 'point.json');
    const newer = POINT_FORMAT_VERSION + 1;
    writeFileSync(file, readFileSync(file, 'utf8').replace(`"formatVersion": ${POINT_FORMAT_VERSION}`, `"formatVersion": ${newer}`));
    await repo.deletePoint(old.id);
    const before = snapshot(repo.path);
    const err = await repo.openPoint(future.id).catch((e: RepositoryError) => e);
    expect((err as RepositoryError).code).toBe('POINT_VERSION');
    expect((err as RepositoryError).message).toMatch(new RegExp(`point format version ${newer} is not supported`));
    expect(await repo.listPoints()).toEqual([]);
    expect((await repo.scan()).unreadable.map((u) => u.id)).toEqual([future.id]);
    expect(await codeOf(repo.gc({ marginMs: -60_000 }))).toBe('POINT_VERSION');
    expect(await codeOf(repo.beginPoint({ vmId: 'vm1', kind: 'incremental', parent: future.id, config: null }))).toBe('POINT_VERSION');
    expect(snapshot(repo.path)).toBe(before);
    expect(await codeOf(repo.openPoint('vm1/nonsense'))).toBe('POINT_NOT_FOUND');
    expect(await codeOf(repo.openPoint('vm1/20260101T000000.000Z'))).toBe('POINT_NOT_FOUND');
  });

  it('a full filesystem gives REPO_NO_SPACE and leaves what was stored intact', async () => {
    const mnt = join(tmp.dir, 'small');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
    try {
      const repo = await Repository.create(join(mnt, 'repo'));
      const first = await makePoint(repo, 'vm1', [1, 2, null]);
      const before = snapshot(repo.path);
      const writer = await repo.beginPoint({ vmId: 'vm1', kind: 'full', parent: null, config: null, blockSize: 262144, codec: 'none' });
      const blocks = Array.from({ length: 16 }, () => randomBlock(262144));
      const err = await writeDisk(writer, 'vda', blocks, 16 * 262144).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RepositoryError);
      expect((err as RepositoryError).code).toBe('REPO_NO_SPACE');
      expect((err as RepositoryError).message).toMatch(/full/);
      await writer.abort();
      expect((await repo.listPoints()).map((p) => p.id)).toEqual([first.id]);
      expect((await repo.verify()).bad).toEqual([]);
      expect(readdirSync(join(repo.path, 'locks'))).toEqual([]);
      // The chunks the failed point did write are unreferenced; GC takes them and the store is as before.
      await repo.gc({ marginMs: -60_000 });
      expect(snapshot(repo.path)).toBe(before);
      const reader = await repo.openPoint(first.id);
      expect((await reader.disk('vda').read(262144, 262144)).equals(block(2, 262144))).toBe(true);
    } finally {
      execFileSync('umount', [mnt]);
      rmdirSync(mnt);
    }
  });
});
