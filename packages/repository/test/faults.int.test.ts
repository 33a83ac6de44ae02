import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, readdirSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository, type VerifyProblem } from '../src/index.js';
import { chunkPath, errorOf, flipBit, sha256hex } from './damage.js';
import { tempDir, writeDisk } from './helpers.js';

const tmp = tempDir('faults');
afterAll(tmp.cleanup);

const bs = 262144;

/** Small seeded PRNG (mulberry32): the same faults on every run. */
function prng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
}

type Kind = 'payload' | 'header' | 'truncate' | 'zeros' | 'append' | 'delete' | 'swap';
/** What verify may call each kind of damage (truncation is always "truncated"; zeros in the header are "header"). */
const EXPECTED: Record<Kind, VerifyProblem[]> = {
  payload: ['crc'],
  header: ['header'],
  truncate: ['truncated'],
  zeros: ['crc', 'header'],
  append: ['header'],
  delete: ['missing'],
  swap: ['digest'],
};

describe('fault injection', () => {
  it('finds each of 200 injected chunk faults, with no false alarm, and a restore refuses the damaged chunks by name', async () => {
    const repo = await Repository.create(join(tmp.dir, 'r'));
    const rnd = prng(20261122);
    // Half incompressible (stored raw), half text-like (zstd): both codecs get damaged.
    const content = Array.from({ length: 270 }, (_, n) => {
      if (n % 2) return randomBytes(bs);
      const text = Buffer.from(`block ${n}: ` + 'the quick brown fox jumps over the lazy dog '.repeat(bs / 40));
      return text.subarray(0, bs);
    });
    // Five points of 70 blocks; neighbours share 20.
    const points: { id: string; seeds: number[] }[] = [];
    for (let k = 0; k < 5; k++) {
      const seeds = Array.from({ length: 70 }, (_, i) => k * 50 + i);
      const w = await repo.beginPoint({ vmId: 'vm1', kind: 'full', parent: null, config: null, blockSize: bs, codec: 'optimal' });
      await writeDisk(
        w,
        'vda',
        seeds.map((s) => content[s]!),
        70 * bs,
      );
      points.push({ id: (await w.commit()).id, seeds });
    }
    expect((await repo.verify()).bad).toEqual([]);

    // 200 distinct chunks: 20 swapped pairs, and 160 single faults of six kinds.
    const order = Array.from({ length: 270 }, (_, n) => n);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rnd(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const faults = new Map<string, { kind: Kind; seed: number }>();
    const path = (n: number) => chunkPath(repo, content[n]!);
    for (let p = 0; p < 20; p++) {
      const [x, y] = [order[2 * p]!, order[2 * p + 1]!];
      const [fx, fy] = [readFileSync(path(x)), readFileSync(path(y))];
      writeFileSync(path(x), fy);
      writeFileSync(path(y), fx);
      faults.set(sha256hex(content[x]!), { kind: 'swap', seed: x }).set(sha256hex(content[y]!), { kind: 'swap', seed: y });
    }
    const kinds: Kind[] = ['payload', 'header', 'truncate', 'zeros', 'append', 'delete'];
    for (const [j, n] of order.slice(40, 200).entries()) {
      const kind = kinds[j % kinds.length]!;
      const file = path(n);
      const size = statSync(file).size;
      if (kind === 'payload') flipBit(file, 24 + rnd(size - 24), 1 << rnd(8));
      else if (kind === 'header') flipBit(file, rnd(24), 1 << rnd(8));
      else if (kind === 'truncate') truncateSync(file, rnd(size));
      else if (kind === 'zeros') {
        const data = readFileSync(file);
        const at = rnd(size - 64);
        data.fill(0, at, at + 64);
        writeFileSync(file, data);
      } else if (kind === 'append') appendFileSync(file, Buffer.from([rnd(256)]));
      else unlinkSync(file);
      faults.set(sha256hex(content[n]!), { kind, seed: n });
    }
    expect(faults.size).toBe(200);

    const report = await repo.verify();
    expect(report.chunksChecked).toBe(270);
    expect(report.bad).toHaveLength(200);
    for (const b of report.bad) {
      const f = faults.get(b.digest);
      expect(f, `reported ${b.digest}, which was not damaged`).toBeDefined();
      expect(EXPECTED[f!.kind], `${f!.kind} of chunk ${f!.seed} reported as ${b.problem}`).toContain(b.problem);
    }
    for (const [i, p] of points.entries()) {
      const expected = p.seeds.filter((s) => faults.has(sha256hex(content[s]!))).length;
      expect(report.points[i]).toMatchObject({ id: p.id, state: expected ? 'damaged' : 'good', chunks: 70, badChunks: expected });
    }
    expect(readdirSync(join(repo.path, 'gc', 'bad')).sort()).toEqual([...faults.keys()].sort());

    // Restore: every damaged block refuses with its chunk named; every other block reads back exactly.
    const reader = await repo.openPoint(points[2]!.id);
    for (const [i, s] of points[2]!.seeds.entries()) {
      const hex = sha256hex(content[s]!);
      if (faults.has(hex)) {
        const err = await errorOf(reader.disk('vda').read(i * bs, bs));
        expect(err.code).toBe('CHUNK_BAD');
        expect(err.message).toContain(hex);
      } else {
        expect((await reader.disk('vda').read(i * bs, bs)).equals(content[s]!)).toBe(true);
      }
    }
  });
});
