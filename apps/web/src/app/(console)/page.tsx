import type { Metadata } from 'next';
import { BackupRepositoryRepository, prisma } from '@strongbox/db';
import { PageHeader } from '@/components/area-page';
import { checkHealth } from '@/server/health';

export const metadata: Metadata = { title: 'Home' };

function Status({ label, ok, detail }: { label: string; ok: boolean; detail?: string | undefined }) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid={`status-${label.toLowerCase()}`}>
      <div className="text-sm text-slate-500">{label}</div>
      <div className={`mt-1 text-lg font-semibold ${ok ? 'text-emerald-700' : 'text-red-700'}`}>
        {ok ? 'OK' : 'Error'}
      </div>
      {detail && <div className="mt-1 text-xs text-slate-500">{detail}</div>}
    </div>
  );
}

export default async function HomePage() {
  const [health, repositories] = await Promise.all([
    checkHealth(),
    new BackupRepositoryRepository(prisma()).list(),
  ]);
  const online = health.movers.filter((m) => m.online).length;
  return (
    <>
      <PageHeader title="Home" />
      <section className="grid grid-cols-1 gap-4 md:grid-cols-3">
        <Status label="Database" ok={health.database.status === 'ok'} detail={health.database.error} />
        <Status label="Redis" ok={health.redis.status === 'ok'} detail={health.redis.error} />
        <Status label="Movers" ok={online > 0} detail={`${online} of ${health.movers.length} online`} />
      </section>
      <section className="mt-8">
        <h2 className="mb-2 text-lg font-semibold">Repositories</h2>
        <ul className="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white">
          {repositories.map((r) => (
            <li key={r.id} className="flex justify-between p-3 text-sm">
              <span>{r.name}{r.isDefault ? ' (default)' : ''}</span>
              <code className="text-slate-500">{r.path}</code>
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
