/**
 * The few parts of the tar format that `tarOut` needs: headers for single files we stream
 * ourselves, and a rewriter that puts a directory's `tar-out` stream (GNU tar, members named
 * `./…`) under a name prefix and drops its end-of-archive blocks, so that several streams
 * join into one archive.
 */
const BLOCK = 512;
const encoder = new TextEncoder();

export type TarHeader = {
  name: string;
  type: 'file' | 'directory' | 'symlink';
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  linkName?: string;
};

/** The blocks that end an archive. */
export const TAR_END = Buffer.alloc(BLOCK * 2);

/** Zero bytes that pad `size` bytes of data to a whole block. */
export const tarPadding = (size: number): Buffer => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

function writeNumber(block: Buffer, offset: number, length: number, value: number): void {
  const octal = Math.trunc(value).toString(8);
  if (octal.length < length) {
    block.write(octal.padStart(length - 1, '0'), offset, 'ascii');
    block[offset + length - 1] = 0;
    return;
  }
  // GNU base-256 for what octal cannot hold (files of 8 GiB and more).
  let rest = BigInt(Math.trunc(value));
  for (let i = offset + length - 1; i > offset; i--) {
    block[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  block[offset] = 0x80;
}

function readNumber(block: Buffer, offset: number, length: number): number {
  if (block[offset]! & 0x80) {
    let value = 0n;
    for (let i = offset + 1; i < offset + length; i++) value = (value << 8n) | BigInt(block[i]!);
    return Number(value);
  }
  const text = block
    .toString('ascii', offset, offset + length)
    .replace(/\0.*$/s, '')
    .trim();
  return text ? parseInt(text, 8) : 0;
}

function readString(block: Buffer, offset: number, length: number): string {
  const end = block.indexOf(0, offset);
  return block.toString('utf8', offset, end < 0 || end > offset + length ? offset + length : end);
}

function checksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0'), 148, 'ascii');
  block[154] = 0;
  block[155] = 0x20;
}

/** A GNU long-name (`L`) or long-link (`K`) entry for a name over 100 bytes. */
function longEntry(type: 'L' | 'K', value: string): Buffer {
  const data = Buffer.from(encoder.encode(`${value}\0`));
  const head = Buffer.alloc(BLOCK);
  head.write('././@LongLink', 0, 'ascii');
  writeNumber(head, 100, 8, 0);
  writeNumber(head, 108, 8, 0);
  writeNumber(head, 116, 8, 0);
  writeNumber(head, 124, 12, data.length);
  writeNumber(head, 136, 12, 0);
  head.write(type, 156, 'ascii');
  head.write('ustar  \0', 257, 'ascii');
  checksum(head);
  return Buffer.concat([head, data, tarPadding(data.length)]);
}

/** Sets a name field (100 bytes), with a long-name entry before the header when it does not fit. */
function setName(head: Buffer, offset: number, value: string, type: 'L' | 'K'): Buffer | null {
  const bytes = Buffer.from(encoder.encode(value));
  head.fill(0, offset, offset + 100);
  bytes.copy(head, offset, 0, Math.min(100, bytes.length));
  return bytes.length > 100 ? longEntry(type, value) : null;
}

export function tarHeader(entry: TarHeader): Buffer {
  const head = Buffer.alloc(BLOCK);
  const name = entry.type === 'directory' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  const long = setName(head, 0, name, 'L');
  writeNumber(head, 100, 8, entry.mode & 0o7777);
  writeNumber(head, 108, 8, entry.uid);
  writeNumber(head, 116, 8, entry.gid);
  writeNumber(head, 124, 12, entry.type === 'file' ? entry.size : 0);
  writeNumber(head, 136, 12, Math.floor(entry.mtime.getTime() / 1000));
  head.write(entry.type === 'file' ? '0' : entry.type === 'directory' ? '5' : '2', 156, 'ascii');
  const longLink = entry.linkName !== undefined ? setName(head, 157, entry.linkName, 'K') : null;
  head.write('ustar  \0', 257, 'ascii');
  checksum(head);
  return Buffer.concat([...(long ? [long] : []), ...(longLink ? [longLink] : []), head]);
}

/** Types whose header is followed by no data, whatever its size field says. */
const NO_DATA = new Set(['1', '2', '3', '4', '5', '6']);

/** `./a/b` under `prefix` (empty: the names as they are, without `./`). */
export function prefixName(name: string, prefix: string): string {
  const rest = name.replace(/^\.\/?/, '').replace(/^\/+/, '');
  if (!prefix) return rest || './';
  return rest ? `${prefix}/${rest}` : `${prefix}/`;
}

/** Re-emits a tar stream with every member (and hard-link target) under `prefix`, without its end blocks. */
export async function* rewriteTar(source: AsyncIterable<Buffer | string>, prefix: string): AsyncGenerator<Buffer> {
  let pending = Buffer.alloc(0);
  let dataLeft = 0; // bytes of member data (whole blocks) still to pass through
  let longName: string | null = null;
  let longLink: string | null = null;
  let collecting: { type: 'L' | 'K' | 'x' | 'g'; size: number; parts: Buffer[]; left: number } | null = null;
  let ended = false;
  for await (const chunk of source) {
    pending = pending.length ? Buffer.concat([pending, Buffer.from(chunk)]) : Buffer.from(chunk);
    while (!ended) {
      if (dataLeft > 0) {
        if (pending.length === 0) break;
        const take = Math.min(dataLeft, pending.length);
        yield pending.subarray(0, take);
        pending = pending.subarray(take);
        dataLeft -= take;
        continue;
      }
      if (pending.length < BLOCK) break;
      const block = Buffer.from(pending.subarray(0, BLOCK));
      pending = pending.subarray(BLOCK);
      if (collecting) {
        collecting.parts.push(block);
        collecting.left -= BLOCK;
        if (collecting.left > 0) continue;
        const data = Buffer.concat(collecting.parts).subarray(0, collecting.size);
        if (collecting.type === 'L') longName = data.toString('utf8').replace(/\0+$/, '');
        else if (collecting.type === 'K') longLink = data.toString('utf8').replace(/\0+$/, '');
        else if (collecting.type === 'x') {
          // A pax header: only the names matter here; its other records are dropped.
          for (const [, key, value] of data.toString('utf8').matchAll(/\d+ (path|linkpath)=([^\n]*)\n/g)) {
            if (key === 'path') longName = value!;
            else longLink = value!;
          }
        }
        collecting = null;
        continue;
      }
      if (block.every((b) => b === 0)) {
        ended = true;
        break;
      }
      const type = String.fromCharCode(block[156]!);
      const size = readNumber(block, 124, 12);
      if (type === 'L' || type === 'K' || type === 'x' || type === 'g') {
        collecting = { type, size, parts: [], left: Math.ceil(size / BLOCK) * BLOCK };
        if (collecting.left === 0) collecting = null;
        continue;
      }
      const ustar = block.toString('ascii', 257, 263) === 'ustar\0';
      const short = readString(block, 0, 100);
      const name = longName ?? (ustar && block[345] ? `${readString(block, 345, 155)}/${short}` : short);
      if (ustar) block.fill(0, 345, 500);
      const parts: Buffer[] = [];
      const nameEntry = setName(block, 0, prefixName(name, prefix), 'L');
      if (nameEntry) parts.push(nameEntry);
      const link = longLink ?? readString(block, 157, 100);
      // A hard link names another member (under the prefix too); a symbolic link's target is the guest's.
      const linkEntry = setName(block, 157, type === '1' ? prefixName(link, prefix) : link, 'K');
      if (linkEntry) parts.push(linkEntry);
      checksum(block);
      parts.push(block);
      yield Buffer.concat(parts);
      longName = null;
      longLink = null;
      dataLeft = NO_DATA.has(type) ? 0 : Math.ceil(size / BLOCK) * BLOCK;
    }
    if (ended) pending = Buffer.alloc(0); // the rest is end padding
  }
}
