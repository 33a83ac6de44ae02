import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const KiB = 1024;
export const MiB = 1024 * KiB;

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `strongbox-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const words = 'virtual machine backup block chunk index restore point kernel device driver network storage'.split(' ');
export function text(n: number, seed = 0): Buffer {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `${words[(i * 7 + seed) % words.length]} ${words[(i * 13 + seed * 3) % words.length]} ${i}\n`;
  return Buffer.from(s.slice(0, n));
}

/** An image of `size` bytes: text, random and zero regions of 192 KiB in turn (not aligned to any block size). */
export function makeImage(path: string, size: number): Buffer {
  const data = Buffer.alloc(size);
  const region = 192 * KiB;
  for (let at = 0, k = 0; at < size; at += region, k++) {
    const n = Math.min(region, size - at);
    if (k % 3 === 0) text(n, k).copy(data, at);
    else if (k % 3 === 1) randomBytes(n).copy(data, at);
  }
  writeFileSync(path, data);
  return data;
}

export const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
