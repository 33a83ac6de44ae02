'use client';

import { signOut } from 'next-auth/react';

export function LogoutButton() {
  return (
    <button type="button" onClick={() => signOut({ callbackUrl: '/login' })} className="rounded px-3 py-1 text-sm text-slate-300 hover:bg-slate-800">
      Log out
    </button>
  );
}
