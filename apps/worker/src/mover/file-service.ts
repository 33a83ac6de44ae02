import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, type Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import yazl from 'yazl';
import { messageOf, splitBrowserPath } from '@strongbox/core';
import { GuestPathError, normalizeGuestPath, type GuestEntry } from '@strongbox/guestfs';
import { open, type OpenMount } from './mounts.js';

/**
 * The mover's file service: the web relays a mount's browse and download requests here,
 * each with the mount's token (a request for another mount, or with a wrong token, is told
 * the mount does not exist). Every guest path is resolved inside the appliance: the first
 * segment names one of the mount's file systems, the rest is a path in it; nothing on this
 * host is ever named by a request. Downloads stream from the appliance to the socket —
 * never staged whole in memory or on disk.
 *
 * It listens where STRONGBOX_MOVER_FILES_LISTEN says (host:port; 127.0.0.1 and a free port
 * by default) and is reached at STRONGBOX_MOVER_FILES_URL when the web is on another host
 * (packages/config; the mover role passes them in).
 */
type Code = 'BAD_REQUEST' | 'NOT_FOUND' | 'CONFLICT' | 'INTERNAL';
class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: Code,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

function mountOf(req: IncomingMessage, id: string): OpenMount {
  const m = open.get(id);
  const given = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const ok = m && given.length === m.row.token.length && timingSafeEqual(Buffer.from(given), Buffer.from(m.row.token));
  if (!m || !ok) throw new ServiceError(404, 'NOT_FOUND', 'no such mount');
  m.lastUsed = Date.now();
  return m;
}

/** A browse path → the file system it starts at and the path inside it; '/' is the list of file systems. */
export function resolvePath(m: Pick<OpenMount, 'filesystems'>, raw: unknown, field = 'path'): { key: string; device: string; inner: string } | null {
  let path: string;
  try {
    path = normalizeGuestPath(raw, field);
  } catch (error) {
    if (error instanceof GuestPathError) throw new ServiceError(400, 'BAD_REQUEST', error.message, field);
    throw error;
  }
  if (path === '/') return null;
  const { key, inner } = splitBrowserPath(path);
  const fs = m.filesystems.get(key);
  if (!fs)
    throw new ServiceError(
      400,
      'BAD_REQUEST',
      `${field}: ${path} does not start at one of this point's file systems (${[...m.filesystems.keys()].join(', ')})`,
      field,
    );
  if (!fs.mountable) throw new ServiceError(409, 'CONFLICT', `${key} (${fs.type}) cannot be mounted: it holds no file system the appliance reads`);
  return { key, device: fs.device, inner };
}

const entryJson = (key: string, e: GuestEntry) => ({
  name: e.name,
  path: `/${key}${e.path === '/' ? '' : e.path}`,
  type: e.type,
  size: e.size,
  mtime: e.mtime.toISOString(),
  uid: e.uid,
  gid: e.gid,
  mode: e.mode,
  ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
});

/** What the appliance said, as a status: a missing path is 404, the rest 500 with its words. */
function fromAppliance(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  const message = messageOf(error);
  if (/no such file|not found|ENOENT/i.test(message)) return new ServiceError(404, 'NOT_FOUND', message);
  if (/not a directory|ENOTDIR/i.test(message)) return new ServiceError(409, 'CONFLICT', message);
  return new ServiceError(500, 'INTERNAL', message);
}

async function files(m: OpenMount, url: URL, res: ServerResponse): Promise<void> {
  const at = resolvePath(m, url.searchParams.get('path') ?? '/');
  if (!at) {
    send(res, 200, {
      path: '/',
      entries: [...m.filesystems.values()].map((f) => ({
        name: f.key,
        path: `/${f.key}`,
        type: 'filesystem',
        device: f.device,
        fsType: f.type,
        label: f.label,
        size: f.sizeBytes,
        mountable: f.mountable,
      })),
    });
    return;
  }
  const entries = await m.appliance.list(at.device, at.inner).catch((e: unknown) => {
    throw fromAppliance(e);
  });
  send(res, 200, { path: `/${at.key}${at.inner === '/' ? '' : at.inner}`, entries: entries.map((e) => entryJson(at.key, e)) });
}

const safeName = (s: string) => s.replace(/[^\w.+-]+/g, '_').slice(0, 120) || 'files';
const disposition = (name: string) => `attachment; filename="${safeName(name)}"; filename*=UTF-8''${encodeURIComponent(name)}`;

/** A tar stream → a zip stream, entry by entry (each file's bytes pass through once, in order). */
function tarToZip(source: Readable): Readable {
  const zip = new yazl.ZipFile();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const name = header.name.replace(/^\.?\//, '');
    const options = { mtime: header.mtime ?? new Date(), mode: header.mode ?? 0o644 };
    if (header.type === 'directory') {
      if (name) zip.addEmptyDirectory(name, options);
      stream.resume();
      stream.on('end', next);
    } else if (header.type === 'file') {
      // tar-stream's entries are streamx streams: yazl reads Node's.
      zip.addReadStream(Readable.from(stream), name, { ...options, compress: true });
      stream.on('end', next);
    } else {
      stream.resume();
      stream.on('end', next);
    }
  });
  extract.on('finish', () => zip.end());
  extract.on('error', (e: Error) => (zip.outputStream as Readable).destroy(e));
  source.on('error', (e: Error) => extract.destroy(e));
  source.pipe(extract);
  return zip.outputStream as Readable;
}

async function download(m: OpenMount, url: URL, res: ServerResponse): Promise<void> {
  const raw = url.searchParams.getAll('path');
  if (raw.length === 0) throw new ServiceError(400, 'BAD_REQUEST', 'path: name at least one file or folder', 'path');
  const format = url.searchParams.get('format');
  if (format !== null && format !== 'tar.gz' && format !== 'zip') throw new ServiceError(400, 'BAD_REQUEST', 'format: tar.gz or zip', 'format');
  const at = raw.map((p) => resolvePath(m, p));
  if (at.some((a) => a === null)) throw new ServiceError(400, 'BAD_REQUEST', 'path: name files or folders inside a file system, not the list of them', 'path');
  const paths = at as { key: string; device: string; inner: string }[];
  if (new Set(paths.map((p) => p.key)).size > 1)
    throw new ServiceError(400, 'BAD_REQUEST', 'path: the files of one download come from one file system', 'path');
  const { key, device } = paths[0]!;
  const stem = `${safeName(m.row.vmName)}-${paths.length === 1 ? basename(paths[0]!.inner) || key : key}`;
  if (format === null) {
    if (paths.length > 1) throw new ServiceError(400, 'BAD_REQUEST', 'format: several files download as tar.gz or zip', 'format');
    const stat = await m.appliance.stat(device, paths[0]!.inner).catch((e: unknown) => {
      throw fromAppliance(e);
    });
    if (stat.type !== 'file')
      throw new ServiceError(400, 'BAD_REQUEST', `format: ${stat.type === 'directory' ? 'a folder' : 'this entry'} downloads as tar.gz or zip`, 'format');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(stat.size), 'content-disposition': disposition(stat.name) });
    await pipeline(m.appliance.readFile(device, paths[0]!.inner), res as Writable);
    return;
  }
  const tarStream = m.appliance.tarOut(
    device,
    paths.map((p) => p.inner),
  );
  if (format === 'tar.gz') {
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-disposition': disposition(`${stem}.tar.gz`) });
    await pipeline(tarStream, createGzip(), res as Writable);
  } else {
    res.writeHead(200, { 'content-type': 'application/zip', 'content-disposition': disposition(`${stem}.zip`) });
    await pipeline(tarToZip(tarStream), res as Writable);
  }
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://mover');
  const match = /^\/mounts\/([0-9a-f-]{36})\/(files|download)$/.exec(url.pathname);
  try {
    if (req.method !== 'GET' || !match) throw new ServiceError(404, 'NOT_FOUND', 'no such route');
    const m = mountOf(req, match[1]!);
    await (match[2] === 'files' ? files(m, url, res) : download(m, url, res));
  } catch (error) {
    const e = fromAppliance(error);
    if (res.headersSent) {
      // Part of a download went: the client sees a cut body, not a wrong one.
      res.destroy(e);
      return;
    }
    send(res, e.status, { error: { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) } });
  }
}

export type FileService = { server: Server; url: string };

/** Starts the file service; `listen` is host:port (port 0 picks one), `url` where the web reaches it when not there. */
export async function startFileService(options: { listen: string; url?: string | undefined } = { listen: '127.0.0.1:0' }): Promise<FileService> {
  const at = /^(.*):(\d+)$/.exec(options.listen);
  if (!at) throw new Error(`STRONGBOX_MOVER_FILES_LISTEN: host:port, not ${options.listen}`);
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(at[2]), at[1], () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return { server, url: options.url ?? `http://${host === '[::]' || host === '0.0.0.0' ? '127.0.0.1' : host}:${port}` };
}
