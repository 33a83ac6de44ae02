import type { Metadata } from 'next';
import { forbidden, notFound, redirect } from 'next/navigation';
import { z } from 'zod';
import { can } from '@strongbox/core';
import { BackupJobs, prisma } from '@strongbox/db';
import { PageHeader } from '@/components/area-page';
import { currentUser } from '@/server/auth';
import { toJobDto } from '@/server/jobs-service';
import { JobWizard } from '../../job-wizard';
import { wizardChoices } from '../../wizard-data';

export const metadata: Metadata = { title: 'Edit backup job' };

export default async function EditJobPage({ params }: { params: Promise<{ id: string }> }) {
  const user = await currentUser();
  if (!user) redirect('/login');
  if (!can(user.role, 'jobs.edit')) forbidden();
  const id = z.uuid().safeParse((await params).id);
  const row = id.success ? await new BackupJobs(prisma()).byId(id.data) : null;
  if (!row) notFound();
  return (
    <>
      <PageHeader title={`Edit ${row.name}`} />
      <JobWizard choices={await wizardChoices()} initial={toJobDto(row)} />
    </>
  );
}
