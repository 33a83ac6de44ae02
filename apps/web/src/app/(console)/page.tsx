import type { Metadata } from 'next';
import { dailyResults } from '@strongbox/core';
import { BackupRepositories, prisma, Runs } from '@strongbox/db';
import { PageHeader } from '@/components/area-page';
import { DailyResultsChart } from '@/components/daily-results-chart';
import { checkHealth } from '@/server/health';

export const metadata: Metadata = { title: 'Home' };
export const dynamic = 'force-dynamic';

const DAYS = 14;

function Status({ label, ok, detail }: { label: string; ok: boolean; detail?: string | undefined }) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid={`status-${label.toLowerCase()}`}>
      <div className="text-sm text-slate-500">{label}</div>
      <div className={`mt-1 text-lg font-semibold ${ok ? 'text-emerald-700' : 'text-red-700'}`}>{ok ? 'OK' : 'Error'}</div>
      {detail && <div className="mt-1 text-xs text-slate-500">{detail}</div>}
    </div>
  );
}

export default async function HomePage() {
  const now = new Date();
  const [health, repositories, recent] = await Promise.all([
    checkHealth(),
    new BackupRepositories(prisma()).list(),
    new Runs(prisma()).recentResults(new Date(now.getTime() - DAYS * 86_400_000)),
  ]);
  // Days as the backup server's clock reads them (the browser's zone is not known here).
  const days = dailyResults(recent, now, DAYS, Intl.DateTimeFormat().resolvedOptions().timeZone);
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
        <DailyResultsChart days={days} />
      </section>
      <section className="mt-8">
        <h2 className="mb-2 text-lg font-semibold">Repositories</h2>
        <ul className="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white">
          {repositories.map((r) => (
            <li key={r.id} className="flex justify-between p-3 text-sm">
              <span>
                {r.name}
                {r.isDefault ? ' (default)' : ''}
              </span>
              <code className="text-slate-500">{r.path}</code>
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
