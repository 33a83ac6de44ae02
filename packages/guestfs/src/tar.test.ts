import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commonParent, memberName } from './tar-out.js';
import { prefixName, rewriteTar, TAR_END, tarHeader, tarPadding } from './tar.js';

const list = (archive: Buffer) =>
  execFileSync('tar', ['--quoting-style=literal', '-tvf', '-'], { input: archive, encoding: 'utf8' }).split('\n').filter(Boolean);
const names = (archive: Buffer) =>
  execFileSync('tar', ['--quoting-style=literal', '-tf', '-'], { input: archive, encoding: 'utf8' }).split('\n').filter(Boolean);

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

async function* chunked(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

describe('tar headers', () => {
  it('writes files, folders and links that GNU tar reads, long names included', () => {
    const long = `${'deep/'.repeat(30)}file.txt`;
    const mtime = new Date('2026-01-02T03:04:05Z');
    const archive = Buffer.concat([
      tarHeader({ name: 'dir', type: 'directory', size: 0, mode: 0o40755, uid: 0, gid: 0, mtime }),
      tarHeader({ name: long, type: 'file', size: 3, mode: 0o100640, uid: 1000, gid: 1000, mtime }),
      Buffer.from('abc'),
      tarPadding(3),
      tarHeader({ name: 'link', type: 'symlink', size: 0, mode: 0o120777, uid: 0, gid: 0, mtime, linkName: 'x'.repeat(150) }),
      TAR_END,
    ]);
    expect(names(archive)).toEqual(['dir/', long, 'link']);
    const verbose = list(archive);
    expect(verbose[1]).toMatch(/^-rw-r----- 1000\/1000\s+3 2026-01-02/);
    expect(verbose[2]).toContain(`link -> ${'x'.repeat(150)}`);
    expect(execFileSync('tar', ['-xOf', '-', long], { input: archive, encoding: 'utf8' })).toBe('abc');
  });

  it('writes base-256 sizes past 8 GiB', () => {
    const head = tarHeader({ name: 'big', type: 'file', size: 10 * 1024 ** 3, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) });
    expect(head[124]).toBe(0x80);
  });
});

describe('rewriteTar', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongbox-tar-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('puts a GNU tar stream under a prefix, hard links too, symlink targets as they are', async () => {
    const root = join(dir, 'root');
    const longDir = join(root, 'l'.repeat(90), 'm'.repeat(40));
    mkdirSync(longDir, { recursive: true });
    writeFileSync(join(root, 'a.txt'), 'hello');
    writeFileSync(join(longDir, 'inner.bin'), Buffer.alloc(1500, 7));
    linkSync(join(root, 'a.txt'), join(root, 'hard'));
    symlinkSync('../outside', join(root, 'sym'));
    const source = execFileSync('tar', ['-C', root, '-cf', '-', '.'], { maxBuffer: 1 << 24 });
    const rewritten = Buffer.concat([await collect(rewriteTar(chunked(source, 700), 'var/data')), TAR_END]);
    const got = names(rewritten).sort();
    expect(got).toEqual(
      [
        'var/data/',
        'var/data/a.txt',
        'var/data/hard',
        'var/data/sym',
        `var/data/${'l'.repeat(90)}/`,
        `var/data/${'l'.repeat(90)}/${'m'.repeat(40)}/`,
        `var/data/${'l'.repeat(90)}/${'m'.repeat(40)}/inner.bin`,
      ].sort(),
    );
    const out = join(dir, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-xf', '-', '-C', out], { input: rewritten });
    expect(execFileSync('cat', [join(out, 'var/data/hard')], { encoding: 'utf8' })).toBe('hello');
    expect(execFileSync('readlink', [join(out, 'var/data/sym')], { encoding: 'utf8' }).trim()).toBe('../outside');
    expect(execFileSync('md5sum', [join(out, `var/data/${'l'.repeat(90)}/${'m'.repeat(40)}/inner.bin`)], { encoding: 'utf8' })).toMatch(/^[0-9a-f]{32}/);
  });

  it('joins two streams into one archive (end blocks dropped)', async () => {
    const one = join(dir, 'one');
    mkdirSync(one);
    writeFileSync(join(one, 'x'), 'x');
    const source = execFileSync('tar', ['-C', one, '-cf', '-', '.']);
    const joined = Buffer.concat([
      await collect(rewriteTar(chunked(source, 512), 'first')),
      await collect(rewriteTar(chunked(source, 10_000), 'second')),
      TAR_END,
    ]);
    expect(names(joined).sort()).toEqual(['first/', 'first/x', 'second/', 'second/x']);
  });
});

describe('member names', () => {
  it('are relative to the common parent folder', () => {
    expect(commonParent(['/etc/hosts', '/etc/shadow'])).toBe('/etc');
    expect(commonParent(['/etc/nested/a', '/etc/b'])).toBe('/etc');
    expect(commonParent(['/etc', '/var/log'])).toBe('/');
    expect(commonParent(['/etc'])).toBe('/');
    expect(memberName('/etc/nested/a', '/etc')).toBe('nested/a');
    expect(memberName('/etc', '/')).toBe('etc');
    expect(prefixName('./', 'etc')).toBe('etc/');
    expect(prefixName('./a/b', 'etc')).toBe('etc/a/b');
    expect(prefixName('./a', '')).toBe('a');
  });
});
