import type { Readable } from 'node:stream';
import type { GuestEntry } from './entries.js';
import { prefixName, rewriteTar, TAR_END, tarHeader, tarPadding } from './tar.js';

export type TarSources = {
  stat: (path: string) => Promise<GuestEntry>;
  /** A regular file's bytes. */
  file: (path: string) => Promise<Readable>;
  /** A folder as `tar-out` gives it (members `./…`). */
  directory: (path: string) => Promise<Readable>;
};

/** The folder all paths are in: `/a/b/c` and `/a/d` → `/a`. */
export function commonParent(paths: string[]): string {
  const parents = paths.map((p) => p.split('/').filter(Boolean).slice(0, -1));
  const first = parents[0] ?? [];
  let n = 0;
  while (n < first.length && parents.every((p) => p[n] === first[n])) n++;
  return `/${first.slice(0, n).join('/')}`;
}

/** The archive's name of a path: relative to the common parent. */
export function memberName(path: string, parent: string): string {
  return parent === '/' ? path.slice(1) : path.slice(parent.length + 1);
}

/** One tar archive of the paths, streamed: our headers for files and links, `tar-out` for folders. */
export async function* tarStream(paths: string[], sources: TarSources): AsyncGenerator<Buffer> {
  const parent = commonParent(paths);
  for (const path of [...new Set(paths)]) {
    const entry = await sources.stat(path);
    const name = memberName(path, parent);
    if (entry.type === 'directory') {
      yield* rewriteTar(await sources.directory(path), name === '' ? '' : prefixName(name, '').replace(/\/$/, ''));
    } else if (entry.type === 'file') {
      yield tarHeader({ ...entry, name, type: 'file' });
      let sent = 0;
      for await (const chunk of await sources.file(path)) {
        const buffer = chunk as Buffer;
        // A file that grew since its stat (it cannot on a read-only mount, but the header is a promise).
        const room = entry.size - sent;
        if (room <= 0) break;
        const part = buffer.length > room ? buffer.subarray(0, room) : buffer;
        sent += part.length;
        yield part;
      }
      if (sent < entry.size) throw new Error(`${path} gave ${sent} bytes where its size is ${entry.size}`);
      yield tarPadding(entry.size);
    } else if (entry.type === 'symlink') {
      yield tarHeader({ ...entry, name, type: 'symlink', size: 0, linkName: entry.linkTarget ?? '' });
    }
    // Devices, FIFOs and sockets hold no data to restore: left out.
  }
  yield TAR_END;
}
