// Relative, not '@/': vitest runs this file without the app's path alias.
import { bytes } from '../../../../components/format';
import type { DownloadFormat } from '@/server/mount-schemas';

/** Pure helpers of the Guest files page: how a listing's figures read, and where a download is fetched from. */

/** st_mode's file-type field (S_IFMT) and its values, as in <sys/stat.h>. */
const S_IFMT = 0o170000;
const TYPE_CHAR: Record<number, string> = {
  0o140000: 's',
  0o120000: 'l',
  0o100000: '-',
  0o060000: 'b',
  0o040000: 'd',
  0o020000: 'c',
  0o010000: 'p',
};

/** st_mode as `ls -l` prints it: `-rw-r-----`, `drwxr-xr-x`, `lrwxrwxrwx`, with setuid/setgid/sticky as s/S and t/T. */
export function modeString(mode: number): string {
  const type = TYPE_CHAR[mode & S_IFMT] ?? '?';
  const bit = (mask: number, char: string) => (mode & mask ? char : '-');
  const special = (exec: number, flag: number, set: string) => {
    if (mode & flag) return mode & exec ? set : set.toUpperCase();
    return bit(exec, 'x');
  };
  return [
    type,
    bit(0o400, 'r'),
    bit(0o200, 'w'),
    special(0o100, 0o4000, 's'),
    bit(0o040, 'r'),
    bit(0o020, 'w'),
    special(0o010, 0o2000, 's'),
    bit(0o004, 'r'),
    bit(0o002, 'w'),
    special(0o001, 0o1000, 't'),
  ].join('');
}

/** A size in binary units, as the rest of the console prints sizes. */
export function humanSize(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  return bytes(n);
}

export type Crumb = { name: string; path: string };

/** The breadcrumbs of a guest path: the list of file systems first, then each folder down to it. */
export function breadcrumbs(path: string): Crumb[] {
  const crumbs: Crumb[] = [{ name: 'File systems', path: '/' }];
  let at = '';
  for (const segment of path.split('/').filter(Boolean)) {
    at += `/${segment}`;
    crumbs.push({ name: segment, path: at });
  }
  return crumbs;
}

/** What the name filter keeps: a case-insensitive substring, or a whole-name pattern when it has `*` or `?`. */
export function matchesFilter(name: string, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  if (!f) return true;
  if (!/[*?]/.test(f)) return name.toLowerCase().includes(f);
  const pattern = f
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${pattern}$`).test(name.toLowerCase());
}

export type Selected = { path: string; type: string };

/** A single plain file downloads as it is; anything else (several, a folder, a link) comes as one archive. */
export function needsArchive(selected: readonly Selected[]): boolean {
  return selected.length !== 1 || selected[0]!.type !== 'file';
}

/** The API address that downloads the selection, or null when nothing is selected. */
export function downloadHref(mountId: string, selected: readonly Selected[], format: DownloadFormat): string | null {
  if (selected.length === 0) return null;
  const query = new URLSearchParams(selected.map((s) => ['path', s.path]));
  if (needsArchive(selected)) query.set('format', format);
  return `/api/v1/mounts/${encodeURIComponent(mountId)}/download?${query.toString()}`;
}

/** Whole seconds since `since` (an ISO time), never negative when the browser's clock is behind the server's. */
export function elapsedSeconds(since: string, now: number): number {
  return Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
}

/** The file browser's address opening `pointId` at `folder` (a search hit's, another version's). */
export function browserAt(pointId: string, path: string, isFolder = false): string {
  const folder = isFolder ? path : path.slice(0, path.lastIndexOf('/')) || '/';
  return `/restore/files?point=${pointId}&path=${encodeURIComponent(folder)}`;
}
