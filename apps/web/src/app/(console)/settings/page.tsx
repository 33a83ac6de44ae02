import type { Metadata } from 'next';
import Link from 'next/link';
import { can } from '@strongbox/core';
import { PROCESSING_SETTING_KEY, prisma, processingSettingSchema, Settings } from '@strongbox/db';
import { PageHeader } from '@/components/area-page';
import { currentUser } from '@/server/auth';
import { ProcessingMode } from './processing-mode';

export const metadata: Metadata = { title: 'Settings' };

export default async function SettingsPage() {
  const user = await currentUser();
  const processing = await new Settings(prisma()).get(PROCESSING_SETTING_KEY, processingSettingSchema);
  const links = [
    ...(user && can(user.role, 'users.manage') ? [{ href: '/settings/users', label: 'Users and roles', what: 'Add users, set roles, disable accounts.' }] : []),
    ...(user && can(user.role, 'settings.edit')
      ? [{ href: '/settings/email', label: 'Email notifications', what: 'SMTP server for job reports; send a test email.' }]
      : []),
    { href: '/settings/tokens', label: 'API tokens and logins', what: 'Tokens for the REST API and CLI; your open console logins.' },
  ];
  return (
    <>
      <PageHeader title="Settings" />
      <ul className="grid gap-4 md:grid-cols-2">
        {links.map((l) => (
          <li key={l.href}>
            <Link href={l.href} className="block rounded-lg border border-slate-200 bg-white p-4 shadow-sm hover:border-sky-600">
              <div className="font-medium">{l.label}</div>
              <div className="text-sm text-slate-500">{l.what}</div>
            </Link>
          </li>
        ))}
      </ul>
      <section className="mt-6">
        <ProcessingMode
          initial={{ mode: processing?.value.mode ?? 'parallel', version: processing?.version ?? 0 }}
          editable={Boolean(user && can(user.role, 'settings.edit'))}
        />
      </section>
    </>
  );
}
