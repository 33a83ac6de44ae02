import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository } from '@strongbox/repository';
import { FileDiskReader, backupDisk, restoreDisk } from '../src/index.js';
import { MiB, makeImage, tempDir } from './helpers.js';

const tmp = tempDir('crash');
afterAll(tmp.cleanup);

/** Runs the child writer and SIGKILLs it after `ms`; resolves to its output. */
function runAndKill(repo: string, image: string, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-child.ts'), repo, image], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child ended by itself (${code}): ${err}`));
      else resolve(out);
    });
  });
}

describe('a writer killed with SIGKILL', () => {
  it('never leaves a visible half point, and the next write works', async () => {
    const image = join(tmp.dir, 'image.raw');
    const data = makeImage(image, 12 * MiB);
    const repo = await Repository.create(join(tmp.dir, 'repo'));
    // Kill times from early (during start-up and the first chunks) to late (several points in).
    const delays = [900, 1400, 1700, 2100, 2600, 3300];
    let seenCommits = 0;
    let midPoint = 0;
    for (const ms of delays) {
      const out = await runAndKill(repo.path, image, ms + Math.floor(Math.random() * 400));
      const committed = [...out.matchAll(/^committed (.+)$/gm)].map((m) => m[1]!);
      seenCommits += committed.length;
      if (/^begun .+\n$/m.test(out.split('\n').slice(-2).join('\n'))) midPoint++;
      const listed = (await repo.listPoints()).map((p) => p.id);
      for (const id of committed) expect(listed).toContain(id);
      // Every visible point is whole: it verifies and restores to the image.
      expect((await repo.verify()).bad).toEqual([]);
      const last = listed.at(-1);
      if (last) {
        const reader = await repo.openPoint(last);
        expect(reader.disks.map((d) => d.name)).toEqual(['vda', 'vdb']);
        const restored = join(tmp.dir, 'restored.raw');
        await restoreDisk(reader, 'vdb', restored);
        expect(readFileSync(restored).equals(data)).toBe(true);
      }
      // The dead writer's lease and folder are debris for GC.
      await repo.gc({ marginMs: 0 });
      expect(readdirSync(join(repo.path, 'locks'))).toEqual([]);
      expect((await repo.scan()).unfinished).toEqual([]);
    }
    expect(seenCommits).toBeGreaterThan(0);
    expect(midPoint).toBeGreaterThan(0);
    // The next write works.
    const writer = await repo.beginPoint({ vmId: 'vm1', kind: 'full', parent: null, config: null });
    const reader = await FileDiskReader.open(image);
    await backupDisk(writer, 'vda', reader);
    await reader.close();
    const m = await writer.commit();
    expect((await repo.verify({ pointIds: [m.id] })).bad).toEqual([]);
  });
});
