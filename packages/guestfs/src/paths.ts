import { GuestPathError } from './errors.js';

/** Linux's PATH_MAX: a longer path is refused by the guest's kernel anyway. */
const MAX_PATH = 4096;

/**
 * A guest path as the appliance gets it: absolute, `.` and empty segments dropped, so
 * `//a/./b/` is `/a/b`. A `..` segment, a NUL, a relative path or a non-string is refused,
 * never resolved: a request names a file inside one file system, from its root.
 */
export function normalizeGuestPath(path: unknown, field = 'path'): string {
  if (typeof path !== 'string') throw new GuestPathError(field, `${field} must be a string`);
  if (path.includes('\0')) throw new GuestPathError(field, `${field} must not contain a NUL character`);
  if (!path.startsWith('/')) throw new GuestPathError(field, `${field} must be absolute (start at the file system's root "/"): ${JSON.stringify(path)}`);
  if (path.length > MAX_PATH) throw new GuestPathError(field, `${field} is longer than ${MAX_PATH} characters`);
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw new GuestPathError(field, `${field} must not contain a ".." segment: ${JSON.stringify(path)}`);
  return `/${segments.join('/')}`;
}

/** The parent of a normalized path (`/` for `/` itself) and its last segment. */
export function splitGuestPath(path: string): { parent: string; name: string } {
  const at = path.lastIndexOf('/');
  return { parent: at <= 0 ? '/' : path.slice(0, at), name: path.slice(at + 1) };
}

/** `root` + `relative` without a double slash. */
export function joinGuestPath(root: string, relative: string): string {
  if (relative === '') return root;
  return root === '/' ? `/${relative}` : `${root}/${relative}`;
}
