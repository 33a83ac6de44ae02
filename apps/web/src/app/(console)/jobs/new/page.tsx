import type { Metadata } from 'next';
import { forbidden, redirect } from 'next/navigation';
import { can } from '@strongbox/core';
import { PageHeader } from '@/components/area-page';
import { currentUser } from '@/server/auth';
import { JobWizard } from '../job-wizard';
import { wizardChoices } from '../wizard-data';

export const metadata: Metadata = { title: 'New backup job' };

export default async function NewJobPage() {
  const user = await currentUser();
  if (!user) redirect('/login');
  if (!can(user.role, 'jobs.edit')) forbidden();
  return (
    <>
      <PageHeader title="New backup job" />
      <JobWizard choices={await wizardChoices()} initial={null} />
    </>
  );
}
