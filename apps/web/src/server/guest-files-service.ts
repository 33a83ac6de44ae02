import { NextResponse } from 'next/server';
import { env } from '@strongbox/config';
import { AppError, GuestMounts, prisma, type ErrorCode, type GuestMountRow } from '@strongbox/db';
import { GuestPathError, normalizeGuestPath } from '@strongbox/guestfs';
import type { Actor } from './auth';
import { DOWNLOAD_FORMATS, downloadFormatQuery, MAX_DOWNLOAD_PATHS, type DownloadFormat, type MountDto } from './mount-schemas';
import { nudgeController } from './runs-service';
import { pathId } from './schemas';

type Audit = (action: string, targetType: string, targetId: string | null, details?: object) => Promise<unknown>;

/** How long the mover's file service may take to answer a listing (a large folder under software emulation is slow). */
const LISTING_TIMEOUT_MS = 120_000;
/** How long a download may wait for the mover's first byte of headers; the body then streams as long as it needs. */
const DOWNLOAD_HEADERS_TIMEOUT_MS = 60_000;

/** The mover's file-service errors that are the caller's to fix; anything else is the mover failing. */
const RELAYED: Record<number, ErrorCode> = { 400: 'BAD_REQUEST', 404: 'NOT_FOUND', 409: 'CONFLICT' };

export function toMountDto(row: GuestMountRow): MountDto {
  return {
    id: row.id,
    sessionId: row.sessionId,
    pointId: row.pointId,
    vmId: row.vmId,
    vmName: row.vmName,
    pointTime: row.pointTime.toISOString(),
    moverId: row.moverId,
    moverName: row.moverName,
    state: row.state,
    error: row.error,
    filesystems: row.filesystems.map((f) => ({
      key: f.key,
      device: f.device,
      type: f.type,
      label: f.label,
      uuid: f.uuid,
      sizeBytes: f.sizeBytes,
      mountable: f.mountable,
    })),
    startedAt: row.startedAt.toISOString(),
    readyAt: row.readyAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt.toISOString(),
    endedAt: row.endedAt?.toISOString() ?? null,
    idleTimeoutMs: row.idleTimeoutMs,
  };
}

/**
 * The caller's mount. Another user's is answered exactly as a missing one — administrators
 * included — so that its id tells nothing and its file service opens for its owner only.
 */
export async function ownMount(rawId: string, actor: Actor): Promise<GuestMountRow> {
  const row = await new GuestMounts(prisma()).get(pathId(rawId, 'mount'));
  if (!row || row.ownerId !== actor.userId) throw new AppError('NOT_FOUND', 'no such mount');
  return row;
}

/** Opens a point's file systems for browsing by the caller; audited, a refusal too. */
export async function startMount(rawPointId: string, actor: Actor, audit: Audit): Promise<MountDto> {
  const pointId = pathId(rawPointId, 'restore point');
  const result = await new GuestMounts(prisma()).start({ pointId, ownerId: actor.userId, by: actor.email, idleTimeoutMs: env().STRONGBOX_MOUNT_IDLE_MS });
  if (!result.ok) {
    await audit('mount.start.refused', 'restore-point', pointId, { status: result.status, message: result.message });
    throw new AppError(result.status === 404 ? 'NOT_FOUND' : result.status === 409 ? 'CONFLICT' : 'UNAVAILABLE', result.message);
  }
  await audit('mount.start', 'restore-point', pointId, { mountId: result.mount.id, sessionId: result.mount.sessionId, vmName: result.mount.vmName });
  await nudgeController();
  return toMountDto(result.mount);
}

/** Ends the caller's mount: its mover closes the appliance and the export. */
export async function endMount(rawId: string, actor: Actor, audit: Audit): Promise<void> {
  const row = await ownMount(rawId, actor);
  const result = await new GuestMounts(prisma()).requestEnd(row.id, actor.email);
  if (!result.ok) throw new AppError(result.status === 404 ? 'NOT_FOUND' : 'CONFLICT', result.message);
  await audit('mount.end', 'guest-mount', row.id, { pointId: row.pointId, vmName: row.vmName });
  await nudgeController();
}

/** A guest path as the file service takes it; a bad one is a 400 naming its field, before anything is asked of the mover. */
export function guestPath(raw: unknown, field = 'path'): string {
  try {
    return normalizeGuestPath(raw, field);
  } catch (error) {
    if (!(error instanceof GuestPathError)) throw error;
    // Its message names the field already ("path must be absolute …").
    throw new AppError('BAD_REQUEST', error.message, { field: error.field, fields: [{ field: error.field, message: error.message }] });
  }
}

const badField = (field: string, message: string) => new AppError('BAD_REQUEST', `${field}: ${message}`, { field, fields: [{ field, message }] });

/** A download's query: every `path` checked, `format` one of tar.gz or zip when given. */
export function downloadRequest(params: URLSearchParams): { paths: string[]; format: DownloadFormat | undefined } {
  const raw = params.getAll('path');
  if (raw.length === 0) throw badField('path', 'give at least one path');
  if (raw.length > MAX_DOWNLOAD_PATHS) throw badField('path', `at most ${MAX_DOWNLOAD_PATHS} paths in one download`);
  const paths = raw.map((p) => guestPath(p));
  const parsed = downloadFormatQuery.safeParse({ format: params.get('format') ?? undefined });
  if (!parsed.success) throw badField('format', `must be one of ${DOWNLOAD_FORMATS.join(', ')}`);
  return { paths, format: parsed.data.format };
}

/** The mount's file service, only while its file systems are open. */
function serviceOf(row: GuestMountRow): { url: string; token: string } {
  if (row.state !== 'ready') {
    const why = row.state === 'failed' && row.error ? `: ${row.error}` : '';
    throw new AppError('CONFLICT', `the mount is ${row.state}${why}; its files can be read only while it is ready`, { state: row.state });
  }
  if (!row.serviceUrl) throw new AppError('UNAVAILABLE', 'the mover serving this mount has not published its file service');
  return { url: row.serviceUrl.replace(/\/+$/, ''), token: row.token };
}

async function callService(row: GuestMountRow, endpoint: 'files' | 'download', query: URLSearchParams, signal: AbortSignal): Promise<Response> {
  const service = serviceOf(row);
  const url = `${service.url}/mounts/${encodeURIComponent(row.id)}/${endpoint}?${query.toString()}`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${service.token}` }, signal, redirect: 'error', cache: 'no-store' });
  } catch (error) {
    const cause =
      error instanceof Error ? (error.name === 'TimeoutError' || error.name === 'AbortError' ? 'it did not answer in time' : error.message) : String(error);
    throw new AppError('UNAVAILABLE', `the mover serving this mount cannot be reached (${cause}); try again, or end the mount and open the point again`);
  }
  if (response.ok) return response;
  throw await serviceError(response);
}

/** The file service's refusal in the API's one error shape; its 5xx (or an answer that is not its JSON) is the mover failing: 503. */
async function serviceError(response: Response): Promise<AppError> {
  const text = await response.text();
  let body: { error?: { message?: unknown; field?: unknown } } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // Not the file service's JSON (a proxy's page, a crash): the status below says enough.
  }
  const message = typeof body.error?.message === 'string' ? body.error.message : null;
  const field = typeof body.error?.field === 'string' ? body.error.field : null;
  const code = RELAYED[response.status];
  if (!code || !message) return new AppError('UNAVAILABLE', `the mover's file service failed (HTTP ${response.status}${message ? `: ${message}` : ''})`);
  return new AppError(code, field ? `${field}: ${message}` : message, field ? { field, fields: [{ field, message }] } : undefined);
}

/** One folder of the mount (`/`: its file systems), as the mover's file service lists it. */
export async function listFiles(row: GuestMountRow, path: string): Promise<NextResponse> {
  const response = await callService(row, 'files', new URLSearchParams({ path }), AbortSignal.timeout(LISTING_TIMEOUT_MS));
  return new NextResponse(await response.text(), { status: response.status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
}

/**
 * A download streamed from the mover to the caller as it comes: the body is handed on, never
 * read here, so a folder of any size passes through in constant memory. The caller going away
 * (`signal`) cancels the mover's side too. Audited once the mover accepted it.
 */
export async function download(row: GuestMountRow, req: { paths: string[]; format: DownloadFormat | undefined }, signal: AbortSignal, audit: Audit) {
  const query = new URLSearchParams(req.paths.map((p) => ['path', p]));
  if (req.format) query.set('format', req.format);
  const headers = new AbortController();
  const timer = setTimeout(() => headers.abort(new DOMException('no answer', 'TimeoutError')), DOWNLOAD_HEADERS_TIMEOUT_MS);
  let response: Response;
  try {
    response = await callService(row, 'download', query, AbortSignal.any([signal, headers.signal]));
  } finally {
    clearTimeout(timer);
  }
  try {
    await audit('mount.download', 'guest-mount', row.id, { pointId: row.pointId, vmName: row.vmName, paths: req.paths, format: req.format ?? null });
  } catch (error) {
    // No download without its audit row; the mover's stream is let go rather than left open.
    await response.body?.cancel();
    throw error;
  }
  const out = new Headers({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  out.set('content-type', response.headers.get('content-type') ?? 'application/octet-stream');
  for (const name of ['content-disposition', 'content-length', 'last-modified']) {
    const value = response.headers.get(name);
    // fetch decodes a content-encoding, so the mover's length is then not this body's.
    if (value && !(name === 'content-length' && response.headers.has('content-encoding'))) out.set(name, value);
  }
  return new NextResponse(response.body, { status: 200, headers: out });
}
