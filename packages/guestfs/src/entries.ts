import { GuestfsError } from './errors.js';
import type { FishStruct } from './fish-syntax.js';

export type GuestEntryType = 'file' | 'directory' | 'symlink' | 'other';
export type GuestEntry = {
  name: string;
  /** Absolute in its file system. */
  path: string;
  type: GuestEntryType;
  size: number;
  mtime: Date;
  uid: number;
  gid: number;
  /** st_mode: permission and type bits. */
  mode: number;
  linkTarget?: string;
};

const S_IFMT = 0o170000;

export function entryType(mode: number): GuestEntryType {
  switch (mode & S_IFMT) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'directory';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}

function field(stat: FishStruct, key: string): number {
  const value = Number(stat[key]);
  if (stat[key] === undefined || !Number.isFinite(value)) throw new GuestfsError('GUESTFS_COMMAND', `lstatns gave no ${key}: ${JSON.stringify(stat)}`);
  return value;
}

/** An entry from `lstatns` output, or null for a name that is gone (lstatnslist gives st_ino -1). */
export function entryOfStat(name: string, path: string, stat: FishStruct): GuestEntry | null {
  if (stat.st_ino === '-1') return null;
  const mode = field(stat, 'st_mode');
  return {
    name,
    path,
    type: entryType(mode),
    size: field(stat, 'st_size'),
    mtime: new Date(field(stat, 'st_mtime_sec') * 1000 + Math.floor(field(stat, 'st_mtime_nsec') / 1e6)),
    uid: field(stat, 'st_uid'),
    gid: field(stat, 'st_gid'),
    mode,
  };
}

/** Directories first, then by name (code-unit order: stable whatever the locale). */
export function compareEntries(a: GuestEntry, b: GuestEntry): number {
  const dirA = a.type === 'directory' ? 0 : 1;
  const dirB = b.type === 'directory' ? 0 : 1;
  if (dirA !== dirB) return dirA - dirB;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
