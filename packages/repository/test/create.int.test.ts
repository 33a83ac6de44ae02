import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository, RepositoryError } from '../src/index.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('create');
afterAll(tmp.cleanup);

describe('creating a repository', () => {
  it('several backups starting at once on a new folder make one repository and all open it', async () => {
    const dir = join(tmp.dir, 'race');
    const repos = await Promise.all(Array.from({ length: 8 }, () => Repository.openOrCreate(dir)));
    expect(new Set(repos.map((r) => r.id)).size).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['chunks', 'gc', 'locks', 'points', 'strongbox.json']);
    expect((await Repository.open(dir)).id).toBe(repos[0]!.id);
  });

  it('takes a folder an interrupted creation left (sub-folders, no strongbox.json)', async () => {
    const dir = join(tmp.dir, 'interrupted');
    for (const d of ['chunks', 'points']) mkdirSync(join(dir, d), { recursive: true });
    const repo = await Repository.openOrCreate(dir);
    expect((await Repository.open(dir)).id).toBe(repo.id);
  });

  it('refuses a folder holding anything else, and leaves it as it was', async () => {
    const dir = join(tmp.dir, 'foreign');
    mkdirSync(dir);
    writeFileSync(join(dir, 'disk.img'), 'not ours');
    const error = await Repository.openOrCreate(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RepositoryError);
    expect((error as RepositoryError).code).toBe('REPO_EXISTS');
    expect((error as RepositoryError).message).toMatch(/not empty and is not a Strongbox repository \(it holds disk\.img\)/);
    expect(readdirSync(dir)).toEqual(['disk.img']);
  });
});
