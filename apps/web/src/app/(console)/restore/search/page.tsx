import type { Metadata } from 'next';
import { can } from '@strongbox/core';
import { prisma } from '@strongbox/db';
import { PageHeader } from '@/components/area-page';
import { currentUser } from '@/server/auth';
import { GuestFileSearch } from './guest-file-search';

export const metadata: Metadata = { title: 'Search guest files' };
export const dynamic = 'force-dynamic';

/** Restore → Search guest files: a name or pattern over every indexed point, optionally of one VM and a time range. */
export default async function SearchGuestFilesPage() {
  const user = await currentUser();
  if (!user || !can(user.role, 'restore')) {
    return (
      <>
        <PageHeader title="Search guest files" />
        <p className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-sm text-slate-500" data-testid="guest-search-forbidden">
          Your role may not search the files of backups: a Restore Operator, Backup Operator or Administrator can.
        </p>
      </>
    );
  }
  const [vms, indexed] = await Promise.all([
    prisma().vm.findMany({
      where: { restorePoints: { some: { guestIndex: { state: 'indexed' } } } },
      select: { id: true, name: true },
      orderBy: { name: 'asc' },
    }),
    prisma().guestIndex.count({ where: { state: 'indexed' } }),
  ]);
  return (
    <>
      <PageHeader title="Search guest files" />
      <GuestFileSearch vms={vms} indexedPoints={indexed} />
    </>
  );
}
