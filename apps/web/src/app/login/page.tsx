import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { currentUser } from '@/server/auth';
import { LoginForm } from './login-form';

export const metadata: Metadata = { title: 'Log in' };
export const dynamic = 'force-dynamic';

export default async function LoginPage() {
  if (await currentUser()) redirect('/');
  return (
    <main className="flex min-h-screen items-center justify-center bg-slate-900">
      <div className="w-full max-w-sm rounded-lg bg-white p-8 shadow-xl">
        <h1 className="text-2xl font-semibold tracking-tight">Strongbox</h1>
        <p className="mb-6 text-sm text-slate-500">Backup & replication for virtual machines</p>
        <LoginForm />
      </div>
    </main>
  );
}
