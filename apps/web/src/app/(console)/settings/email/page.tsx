import type { Metadata } from 'next';
import { forbidden, redirect } from 'next/navigation';
import { can } from '@strongbox/core';
import { PageHeader } from '@/components/area-page';
import { currentUser } from '@/server/auth';
import { loadSmtp, smtpView } from '@/server/smtp-service';
import { EmailForm } from './email-form';

export const metadata: Metadata = { title: 'Email notifications' };

export default async function EmailSettingsPage() {
  const user = await currentUser();
  if (!user) redirect('/login');
  if (!can(user.role, 'settings.edit')) forbidden();
  return (
    <>
      <PageHeader title="Email notifications" />
      <EmailForm initial={smtpView(await loadSmtp())} defaultTo={user.email} />
    </>
  );
}
