import type { Metadata } from 'next';
import { dailyResults } from '@strongbox/core';
import { BackupRepositories, prisma, Runs } from '@strongbox/db';
import { PageHeader } from '@/components/area-page';
import { DailyResultsChart } from '@/components/daily-results-chart';
import { checkHealth } from '@/server/health';
import { recentRestarts } from '@/server/supervisor-service';
import type { BackupRepositoryRow } from '@strongbox/db';

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

/** A repository's last health check at a glance: when, and what it found. */
function RepositoryHealth({ repository }: { repository: BackupRepositoryRow }) {
  const result = repository.lastVerifyResult;
  if (!repository.lastVerifiedAt || !result) return <span className="text-slate-500">not checked yet</span>;
  const damaged = (result.pointsDamaged ?? 0) + (result.pointsUnreadable ?? 0);
  const ok = result.bad === 0 && damaged === 0;
  return (
    <span className={ok ? 'text-emerald-700' : 'font-medium text-red-700'} data-testid="health">
      {ok ? 'healthy' : `${result.bad} bad chunk(s), ${damaged} point(s) affected`} — checked {repository.lastVerifiedAt.toLocaleString()},{' '}
      {result.chunksChecked} chunk(s)
    </span>
  );
}

export default async function HomePage() {
  const now = new Date();
  const [health, repositories, recent, restarts] = await Promise.all([
    checkHealth(),
    new BackupRepositories(prisma()).list(),
    new Runs(prisma()).recentResults(new Date(now.getTime() - DAYS * 86_400_000)),
    recentRestarts(24, now),
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
      {restarts.length > 0 && (
        <section className="mt-4 rounded-lg border border-amber-300 bg-amber-50 p-4 text-sm text-amber-900" data-testid="restarts">
          <h2 className="font-semibold">Restarts in the last 24 hours</h2>
          <ul className="mt-1 space-y-0.5">
            {restarts.slice(0, 5).map((e) => (
              <li key={`${e.process}-${e.at}`}>
                {new Date(e.at).toLocaleString()}: the {e.process} {e.kind === 'gave-up' ? 'crashed too often; Strongbox stopped' : 'crashed and was restarted'}{' '}
                ({e.signal ?? `exit code ${e.exitCode ?? '?'}`}; restart {e.restarts})
              </li>
            ))}
          </ul>
        </section>
      )}
      <section className="mt-8">
        <DailyResultsChart days={days} />
      </section>
      <section className="mt-8">
        <h2 className="mb-2 text-lg font-semibold">Repositories</h2>
        <ul className="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white">
          {repositories.map((r) => (
            <li key={r.id} className="flex items-center justify-between gap-4 p-3 text-sm" data-testid={`health-${r.name}`}>
              <span>
                {r.name}
                {r.isDefault ? ' (default)' : ''} <code className="text-slate-500">{r.path}</code>
              </span>
              <RepositoryHealth repository={r} />
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
