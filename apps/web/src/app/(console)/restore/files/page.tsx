import type { Metadata } from 'next';
import { z } from 'zod';
import { can } from '@strongbox/core';
import { GuestMounts, prisma } from '@strongbox/db';
import { PageHeader } from '@/components/area-page';
import { currentUser } from '@/server/auth';
import { toMountDto } from '@/server/guest-files-service';
import { chosenPoint } from '../restore-data';
import { GuestFiles } from './guest-files';

export const metadata: Metadata = { title: 'Guest files' };
export const dynamic = 'force-dynamic';

/**
 * Restore → Guest files: a VM and one of its points, then its file systems to browse and
 * download from. `?point=` opens the picker on a point, `?mount=` one of the caller's mounts,
 * `?path=` the folder the browser opens at once the point is open.
 */
export default async function GuestFilesPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const { point, mount, path } = await searchParams;
  const user = await currentUser();
  if (!user || !can(user.role, 'restore')) {
    return (
      <>
        <PageHeader title="Guest files" />
        <p className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-sm text-slate-500" data-testid="guest-files-forbidden">
          Your role may not open backups to browse their files: a Restore Operator, Backup Operator or Administrator can.
        </p>
      </>
    );
  }
  const mounts = new GuestMounts(prisma());
  const [initial, open, linked] = await Promise.all([
    chosenPoint(point),
    mounts.ofOwner(user.userId, { live: true }),
    mount && z.uuid().safeParse(mount).success ? mounts.get(mount) : null,
  ]);
  // Another user's mount is not shown, as the API does not show it: the link opens the picker.
  const initialMount = linked && linked.ownerId === user.userId ? toMountDto(linked) : null;
  return (
    <>
      <PageHeader title="Guest files" />
      <GuestFiles
        key={`${point ?? ''}/${mount ?? ''}`}
        initial={initial}
        mounts={open.map(toMountDto)}
        initialMount={initialMount}
        initialPath={path?.startsWith('/') ? path : undefined}
      />
    </>
  );
}
