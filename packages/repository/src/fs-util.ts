import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { link, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { ioError } from './errors.js';

const execFileP = promisify(execFile);

/**
 * Writes all of `data[offset, offset + length)` at `position`. One write(2) may write less
 * than asked and still succeed — a file system that fills up does exactly that before it
 * says ENOSPC — so a single call can leave a short file that looks whole.
 */
export async function writeAll(fh: FileHandle, data: Uint8Array, position: number, offset = 0, length = data.length - offset): Promise<void> {
  for (let done = 0; done < length;) {
    const { bytesWritten } = await fh.write(data, offset + done, length - done, position + done);
    if (bytesWritten === 0) throw Object.assign(new Error(`wrote 0 of ${length - done} bytes`), { code: 'EIO' });
    done += bytesWritten;
  }
}

export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** `data` in a new file beside `path`, fsynced; returns its name. */
async function writeTemp(path: string, data: Uint8Array | string): Promise<string> {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    // The temporary file is ours and useless; the original error is what the caller needs.
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  return tmp;
}

/** Writes `data` under a temporary name, fsyncs it, renames it over `path`, fsyncs the folder. */
export async function writeFileAtomic(path: string, data: Uint8Array | string, what: string): Promise<void> {
  let tmp: string | null = null;
  try {
    tmp = await writeTemp(path, data);
    await rename(tmp, path);
    await fsyncPath(dirname(path));
  } catch (e) {
    if (tmp) await rm(tmp, { force: true });
    throw ioError(e, what);
  }
}

/**
 * As writeFileAtomic, but never over an existing file: the complete file is linked into
 * place, which fails with EEXIST when another writer got there first (also over NFS,
 * where link is atomic and O_EXCL may not be). Resolves to false then.
 */
export async function writeFileExclusive(path: string, data: Uint8Array | string, what: string): Promise<boolean> {
  let tmp: string | null = null;
  try {
    tmp = await writeTemp(path, data);
    try {
      await link(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    await fsyncPath(dirname(path));
    return true;
  } catch (e) {
    throw ioError(e, what);
  } finally {
    // Linked or not, the temporary name is ours to remove.
    if (tmp) await rm(tmp, { force: true });
  }
}

/**
 * Flushes every dirty page of the filesystem holding `root` (syncfs(2) through
 * `sync -f`): one call instead of an fsync per chunk file, which cost the previous
 * attempt most of its write time. Falls back to a global sync where -f is unknown.
 */
export async function syncFilesystem(root: string): Promise<void> {
  try {
    await execFileP('sync', ['-f', root]);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') throw ioError(e, 'running sync');
    await execFileP('sync', []);
  }
}
