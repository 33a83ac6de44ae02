import { env } from '@strongbox/config';
import { splitBrowserPath } from '@strongbox/core';
import { AppError, GuestFileIndex, prisma, type GuestMountRow } from '@strongbox/db';
import { guestPath } from './guest-files-service';
import type { GuestFileHitDto, GuestFileSearchQuery, GuestFileVersionDto } from './mount-schemas';

const indexOf = () => new GuestFileIndex(prisma(), env().DATABASE_URL);

/** Guest file search over every indexed point (permission `restore`): newest point first. */
export async function searchGuestFiles(q: GuestFileSearchQuery): Promise<{ data: GuestFileHitDto[]; limit: number }> {
  const hits = await indexOf().search({
    pattern: q.q,
    vmId: q.vmId,
    from: q.from ? new Date(q.from) : undefined,
    to: q.to ? new Date(q.to) : undefined,
    limit: q.limit,
  });
  return {
    data: hits.map((h) => ({
      pointId: h.pointId,
      vmId: h.vmId,
      vmName: h.vmName,
      pointTime: h.pointTime.toISOString(),
      path: `/${h.fs}${h.path}`,
      name: h.name,
      type: h.type === 'd' ? 'directory' : h.type === 'l' ? 'symlink' : h.type === 'f' ? 'file' : 'other',
      size: h.size,
      mtime: h.mtime.toISOString(),
    })),
    limit: q.limit,
  };
}

/**
 * Versions of one file of a mount: the indexed points of the mount's VM that hold the same
 * path, newest first, with its size and time in each, and how many points of the VM are not
 * indexed (their versions are not known without opening them).
 */
export async function fileVersions(
  mount: GuestMountRow,
  rawPath: unknown,
): Promise<{ path: string; versions: GuestFileVersionDto[]; pointsNotIndexed: number }> {
  const path = guestPath(rawPath);
  const { key, inner } = splitBrowserPath(path);
  if (!key || inner === '/')
    throw new AppError('BAD_REQUEST', 'path: a file inside a file system', {
      field: 'path',
      fields: [{ field: 'path', message: 'a file inside a file system' }],
    });
  const versions = await indexOf().versions({ vmId: mount.vmId, vmName: mount.vmName, fs: key, path: inner });
  const points = await prisma().restorePoint.count({ where: mount.vmId ? { vmId: mount.vmId } : { vmName: mount.vmName } });
  const indexed = await prisma().guestIndex.count({ where: { state: 'indexed', point: mount.vmId ? { vmId: mount.vmId } : { vmName: mount.vmName } } });
  return {
    path,
    versions: versions.map((v) => ({
      pointId: v.pointId,
      pointTime: v.pointTime.toISOString(),
      pointKind: v.pointKind,
      size: v.size,
      mtime: v.mtime.toISOString(),
      current: v.pointId === mount.pointId,
    })),
    pointsNotIndexed: points - indexed,
  };
}
