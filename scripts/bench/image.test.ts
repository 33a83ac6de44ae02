import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fillPiece, fillRegion } from './content.js';
import { applyRewrite, ensureImage, hashFile } from './image.js';
import { MiB, planLayout, planRewrite, type ImageSpec } from './layout.js';

const spec: ImageSpec = { size: 32 * MiB, seed: 5, regionSize: 256 * 1024, repeatSize: MiB };
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

function expectedImage(s: ImageSpec): Buffer {
  const layout = planLayout(s);
  const out = Buffer.alloc(s.size);
  layout.kinds.forEach((_, i) => fillRegion(layout, i, out.subarray(i * s.regionSize, (i + 1) * s.regionSize)));
  return out;
}

describe('the image file', () => {
  it('holds exactly the generated regions, its sidecar hash matches, and a second call reuses it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sb-bench-'));
    dirs.push(dir);
    const logs: string[] = [];
    const made = await ensureImage(dir, spec, (l) => logs.push(l));
    const file = await readFile(made.path);
    // Zero regions between written ones once made a double buffer be refilled mid-write.
    expect(planLayout(spec).kinds.some((k, i, all) => k === 'zero' && all[i - 1] !== 'zero' && all[i + 1] !== 'zero')).toBe(true);
    expect(file.equals(expectedImage(spec))).toBe(true);
    expect((await hashFile(made.path)).sha256).toBe(made.sha256);
    const again = await ensureImage(dir, spec, (l) => logs.push(l));
    expect(again.generatedSeconds).toBeNull();
    expect(logs[1]).toMatch(/reusing/);
  });

  it('applies the rewrite pieces and nothing else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sb-bench-'));
    dirs.push(dir);
    const made = await ensureImage(dir, spec, () => undefined);
    const pieces = planRewrite(spec.size, spec.seed);
    await applyRewrite(made.path, pieces, spec.seed);
    const want = expectedImage(spec);
    pieces.forEach((p, i) => fillPiece(p, spec.seed, i, want.subarray(p.offset, p.offset + p.length)));
    expect((await readFile(made.path)).equals(want)).toBe(true);
  });
});
