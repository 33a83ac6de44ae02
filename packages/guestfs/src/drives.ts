import { GuestfsError } from './errors.js';
import { fishList } from './fish-syntax.js';

export type GuestDrive = {
  /** `nbd:///<export>?socket=/path/to.sock`, or an image file's absolute path. */
  uri: string;
  format?: 'raw' | 'qcow2';
  /** The guest's name of the disk (`vda`): a hint for libguestfs. */
  name?: string;
};

/**
 * `add-drive` arguments of a drive, always read-only (libguestfs then writes to a throw-away
 * overlay in its temporary folder, never to the drive). The URI is parsed here rather than by
 * guestfish's `-a` so that `readonly:true` is explicit.
 */
export function addDriveArgs(drive: GuestDrive): string[] {
  const options = ['readonly:true', `format:${drive.format ?? 'raw'}`];
  if (drive.name !== undefined) {
    if (!/^[a-z0-9]+$/.test(drive.name)) throw new GuestfsError('GUESTFS_LAUNCH', `drive name must be like "vda": ${drive.name}`);
    options.push(`name:${drive.name}`);
  }
  if (drive.format !== undefined && drive.format !== 'raw' && drive.format !== 'qcow2')
    throw new GuestfsError('GUESTFS_LAUNCH', `unknown drive format ${String(drive.format)}`);
  if (drive.uri.startsWith('/')) return [drive.uri, ...options];
  let url: URL;
  try {
    url = new URL(drive.uri);
  } catch {
    throw new GuestfsError('GUESTFS_LAUNCH', `drive URI is neither nbd:// nor an absolute path: ${drive.uri}`);
  }
  if (url.protocol !== 'nbd:' && url.protocol !== 'nbd+unix:') throw new GuestfsError('GUESTFS_LAUNCH', `unsupported drive URI ${drive.uri}`);
  const socket = url.searchParams.get('socket');
  const exportName = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!socket) throw new GuestfsError('GUESTFS_LAUNCH', `an nbd drive needs ?socket=<unix socket>: ${drive.uri}`);
  // For protocol nbd, add-drive's "filename" is the export name.
  return [exportName, 'protocol:nbd', `server:${fishList([`unix:${socket}`])}`, ...options];
}

/** The drive index of an appliance device: `/dev/sdb2` → 1, `/dev/sdaa` → 26; null for others. */
export function driveIndexOfDevice(device: string): number | null {
  const m = /^\/dev\/(?:sd|vd|hd)([a-z]+)\d*$/.exec(device);
  if (!m) return null;
  let index = 0;
  for (const ch of m[1]!) index = index * 26 + (ch.charCodeAt(0) - 96);
  return index - 1;
}
