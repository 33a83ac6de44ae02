import type { ReactNode } from 'react';
import { redirect } from 'next/navigation';
import { ROLE_LABELS } from '@strongbox/core';
import { LogoutButton } from '@/components/logout-button';
import { Nav } from '@/components/nav';
import { currentUser } from '@/server/auth';

export const dynamic = 'force-dynamic';

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const user = await currentUser();
  if (!user) redirect('/login');
  return (
    <div className="flex min-h-screen">
      <aside className="flex w-56 flex-col bg-slate-900 p-4 text-white">
        <div className="mb-6 px-3 text-lg font-semibold">Strongbox</div>
        <Nav />
        <div className="mt-auto border-t border-slate-700 pt-4 text-sm">
          <div className="px-3" data-testid="current-user">
            {user.email}
          </div>
          <div className="px-3 text-xs text-slate-400">{ROLE_LABELS[user.role]}</div>
          <LogoutButton />
        </div>
      </aside>
      <main className="flex-1 p-8">{children}</main>
    </div>
  );
}
