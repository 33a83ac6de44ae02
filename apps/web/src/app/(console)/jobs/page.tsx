import type { Metadata } from 'next';
import Link from 'next/link';
import { can } from '@strongbox/core';
import { BackupJobs, prisma } from '@strongbox/db';
import { PageHeader } from '@/components/area-page';
import { currentUser } from '@/server/auth';
import { toJobDto } from '@/server/jobs-service';
import { JobsTable } from './jobs-table';

export const metadata: Metadata = { title: 'Jobs' };

export default async function JobsPage() {
  const user = await currentUser();
  const { rows } = await new BackupJobs(prisma()).page(1, 200);
  const may = (p: Parameters<typeof can>[1]) => Boolean(user && can(user.role, p));
  return (
    <>
      <PageHeader title="Backup jobs">
        {may('jobs.edit') && (
          <Link href="/jobs/new" className="rounded bg-sky-700 px-4 py-2 text-white">
            New backup job
          </Link>
        )}
      </PageHeader>
      <JobsTable initial={rows.map(toJobDto)} canEdit={may('jobs.edit')} canRun={may('jobs.run')} canDelete={may('delete')} />
    </>
  );
}
