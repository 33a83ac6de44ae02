/**
 * A minimal writer of the `newc` cpio format, the one the Linux kernel unpacks as an
 * initramfs. Written here so that the lab needs no `cpio` binary on the host.
 */
export type CpioEntry =
  | { path: string; kind: 'dir'; mode?: number }
  | { path: string; kind: 'file'; data: Buffer; mode?: number }
  | { path: string; kind: 'symlink'; target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function header(ino: number, mode: number, size: number, nameLength: number): Buffer {
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  const fields = [ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, nameLength, 0];
  return Buffer.from('070701' + fields.map(hex).join(''), 'ascii');
}

function record(ino: number, name: string, mode: number, data: Buffer): Buffer[] {
  const nameBuf = Buffer.from(name + '\0', 'utf8');
  const head = header(ino, mode, data.length, nameBuf.length);
  return [head, nameBuf, pad4(head.length + nameBuf.length), data, pad4(data.length)];
}

export function buildCpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const entry of entries) {
    const name = entry.path.replace(/^\/+/, '');
    if (entry.kind === 'dir') parts.push(...record(ino++, name, S_IFDIR | (entry.mode ?? 0o755), Buffer.alloc(0)));
    else if (entry.kind === 'file') parts.push(...record(ino++, name, S_IFREG | (entry.mode ?? 0o644), entry.data));
    else parts.push(...record(ino++, name, S_IFLNK | 0o777, Buffer.from(entry.target, 'utf8')));
  }
  parts.push(...record(0, 'TRAILER!!!', 0, Buffer.alloc(0)));
  return Buffer.concat(parts);
}
