import { z } from 'zod';
import { FILE_RESTORE_MODES, fileRestorePathsSchema } from '@strongbox/core';
import { guestMountFsSchema, MOUNT_STATES } from '@strongbox/db';

/** What the guest-file routes read and answer; the OpenAPI document is generated from the same schemas. */

export const DOWNLOAD_FORMATS = ['tar.gz', 'zip'] as const;
export type DownloadFormat = (typeof DOWNLOAD_FORMATS)[number];

/** Paths of one download: enough for a selection made in the browser, not an unbounded query. */
export const MAX_DOWNLOAD_PATHS = 500;

export const mountListQuery = z.object({ all: z.enum(['0', '1', 'true', 'false']).optional() });

export const downloadFormatQuery = z.object({ format: z.enum(DOWNLOAD_FORMATS, { message: 'must be tar.gz or zip' }).optional() });

/** A file system of the mount: its key is the first segment of every path in it (`sda1`, `vg0-data`). */
export const guestFsDto = guestMountFsSchema;

/** A mount as the API shows it: never the mover's address or the token that opens its file service. */
export const mountDto = z.object({
  id: z.uuid(),
  sessionId: z.uuid(),
  pointId: z.uuid().nullable(),
  vmId: z.uuid().nullable(),
  vmName: z.string(),
  pointTime: z.string(),
  moverId: z.uuid().nullable(),
  moverName: z.string().nullable(),
  state: z.enum(MOUNT_STATES),
  error: z.string().nullable(),
  filesystems: z.array(guestFsDto),
  startedAt: z.string(),
  readyAt: z.string().nullable(),
  lastUsedAt: z.string(),
  endedAt: z.string().nullable(),
  idleTimeoutMs: z.number().int(),
});
export type MountDto = z.infer<typeof mountDto>;

/** `POST /mounts/{id}/restore`: files and folders of the browser written back into the running VM. */
export const fileRestoreBody = z
  .object({
    paths: fileRestorePathsSchema,
    mode: z.enum(FILE_RESTORE_MODES, 'overwrite or keep-both'),
  })
  .strict();
export type FileRestoreBody = z.infer<typeof fileRestoreBody>;

/** `/`: one entry per file system of the point. */
export const filesystemEntryDto = z.object({
  name: z.string(),
  path: z.string(),
  type: z.literal('filesystem'),
  device: z.string(),
  fsType: z.string(),
  label: z.string().nullable(),
  size: z.number(),
  mountable: z.boolean(),
});

/** Inside a file system: what lstat says of each entry; `mode` is st_mode (type and permission bits). */
export const fileEntryDto = z.object({
  name: z.string(),
  path: z.string(),
  type: z.enum(['file', 'directory', 'symlink', 'other']),
  size: z.number(),
  mtime: z.string(),
  uid: z.number().int(),
  gid: z.number().int(),
  mode: z.number().int(),
  linkTarget: z.string().optional(),
});

export const listingDto = z.object({ path: z.string(), entries: z.array(z.union([filesystemEntryDto, fileEntryDto])) });
export type ListingDto = z.infer<typeof listingDto>;
export type FilesystemEntry = z.infer<typeof filesystemEntryDto>;
export type FileEntry = z.infer<typeof fileEntryDto>;

/** `GET /guest-files`: a name (substring, or `*`/`?` pattern), optionally a VM and a time range of points. */
export const guestFileSearchQuery = z.object({
  q: z.string().trim().min(1, 'a name or a pattern with * and ?').max(200),
  vmId: z.uuid().optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type GuestFileSearchQuery = z.infer<typeof guestFileSearchQuery>;

export const guestFileHitDto = z.object({
  pointId: z.uuid(),
  vmId: z.uuid().nullable(),
  vmName: z.string(),
  pointTime: z.string(),
  /** The file browser's path: `/<file system>/<path in it>`. */
  path: z.string(),
  name: z.string(),
  type: z.enum(['file', 'directory', 'symlink', 'other']),
  size: z.number(),
  mtime: z.string(),
});
export type GuestFileHitDto = z.infer<typeof guestFileHitDto>;

export const guestFileVersionDto = z.object({
  pointId: z.uuid(),
  pointTime: z.string(),
  pointKind: z.string(),
  size: z.number(),
  mtime: z.string(),
  /** The point this mount shows. */
  current: z.boolean(),
});
export type GuestFileVersionDto = z.infer<typeof guestFileVersionDto>;
export const versionsDto = z.object({ path: z.string(), versions: z.array(guestFileVersionDto), pointsNotIndexed: z.number().int() });
