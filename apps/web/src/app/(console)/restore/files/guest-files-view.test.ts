import { describe, expect, it } from 'vitest';
import { breadcrumbs, browserAt, downloadHref, elapsedSeconds, humanSize, matchesFilter, modeString, needsArchive } from './guest-files-view';

describe('modeString', () => {
  it.each([
    [0o100640, '-rw-r-----'],
    [0o040755, 'drwxr-xr-x'],
    [0o120777, 'lrwxrwxrwx'],
    [0o100000, '----------'],
    [0o104755, '-rwsr-xr-x'],
    [0o104644, '-rwSr--r--'],
    [0o102755, '-rwxr-sr-x'],
    [0o041777, 'drwxrwxrwt'],
    [0o041776, 'drwxrwxrwT'],
    [0o060660, 'brw-rw----'],
    [0o020620, 'crw--w----'],
    [0o010644, 'prw-r--r--'],
    [0o140755, 'srwxr-xr-x'],
    [0o000644, '?rw-r--r--'],
  ])('%o reads %s', (mode, text) => {
    expect(modeString(mode)).toBe(text);
  });
});

describe('humanSize', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [10 * 1024 * 1024, '10 MiB'],
    [-1, '—'],
    [Number.NaN, '—'],
  ])('%d is %s', (n, text) => {
    expect(humanSize(n)).toBe(text);
  });
});

describe('breadcrumbs', () => {
  it('the root is the list of file systems', () => {
    expect(breadcrumbs('/')).toEqual([{ name: 'File systems', path: '/' }]);
  });

  it('each folder down to the path, with the path it opens', () => {
    expect(breadcrumbs('/sda1/etc/ssh')).toEqual([
      { name: 'File systems', path: '/' },
      { name: 'sda1', path: '/sda1' },
      { name: 'etc', path: '/sda1/etc' },
      { name: 'ssh', path: '/sda1/etc/ssh' },
    ]);
  });

  it('a trailing slash adds no empty crumb', () => {
    expect(breadcrumbs('/vg0-data/')).toEqual([
      { name: 'File systems', path: '/' },
      { name: 'vg0-data', path: '/vg0-data' },
    ]);
  });
});

describe('matchesFilter', () => {
  it.each([
    ['report.txt', '', true],
    ['report.txt', '  ', true],
    ['Report.TXT', 'port', true],
    ['report.txt', 'xls', false],
    ['report.txt', '*.txt', true],
    ['report.txt.bak', '*.txt', false],
    ['a1.log', 'a?.log', true],
    ['a12.log', 'a?.log', false],
    ['a+b(1).txt', 'a+b(*', true],
  ])('%s with %j: %s', (name, filter, kept) => {
    expect(matchesFilter(name, filter)).toBe(kept);
  });
});

describe('downloadHref', () => {
  const id = '7d5e5c1e-4c5b-4b8e-9f51-1d2f0c9a8b11';

  it('nothing selected: no address', () => {
    expect(downloadHref(id, [], 'zip')).toBeNull();
  });

  it('one file: as it is, no format', () => {
    expect(downloadHref(id, [{ path: '/sda1/etc/hosts', type: 'file' }], 'zip')).toBe(`/api/v1/mounts/${id}/download?path=%2Fsda1%2Fetc%2Fhosts`);
  });

  it('a folder: the archive format chosen', () => {
    expect(downloadHref(id, [{ path: '/sda1/home', type: 'directory' }], 'tar.gz')).toBe(`/api/v1/mounts/${id}/download?path=%2Fsda1%2Fhome&format=tar.gz`);
  });

  it('several: one path parameter each, names with spaces and & encoded', () => {
    const href = downloadHref(
      id,
      [
        { path: '/sda1/a b.txt', type: 'file' },
        { path: '/sda1/x&y', type: 'file' },
      ],
      'zip',
    )!;
    const query = new URL(href, 'http://console').searchParams;
    expect(query.getAll('path')).toEqual(['/sda1/a b.txt', '/sda1/x&y']);
    expect(query.get('format')).toBe('zip');
  });

  it('needsArchive: a single link or other entry is archived too', () => {
    expect(needsArchive([{ path: '/sda1/l', type: 'symlink' }])).toBe(true);
    expect(needsArchive([{ path: '/sda1/f', type: 'file' }])).toBe(false);
  });
});

describe('elapsedSeconds', () => {
  it('whole seconds since, never negative', () => {
    const t = Date.parse('2026-12-02T10:00:00.000Z');
    expect(elapsedSeconds('2026-12-02T10:00:00.000Z', t + 12_900)).toBe(12);
    expect(elapsedSeconds('2026-12-02T10:00:00.000Z', t - 5_000)).toBe(0);
  });
});

describe('the browser address of a search hit or another version', () => {
  it('opens the folder of a file, or the folder itself', () => {
    expect(browserAt('p1', '/sda1/home/ann/report.txt')).toBe('/restore/files?point=p1&path=%2Fsda1%2Fhome%2Fann');
    expect(browserAt('p1', '/sda1/home/ann', true)).toBe('/restore/files?point=p1&path=%2Fsda1%2Fhome%2Fann');
    expect(browserAt('p1', '/sda1')).toBe('/restore/files?point=p1&path=%2F');
  });
});
