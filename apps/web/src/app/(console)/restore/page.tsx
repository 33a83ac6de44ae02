import type { Metadata } from 'next';
import Link from 'next/link';
import { can } from '@strongbox/core';
import { InstantRecoveries, prisma } from '@strongbox/db';
import { PageHeader } from '@/components/area-page';
import { StatusBadge } from '@/components/status-badge';
import { currentUser } from '@/server/auth';
import { listRestores, toInstantDtos } from '@/server/restores-service';
import { InstantPanel } from './instant-panel';
import { chosenPoint, restoreChoices } from './restore-data';
import { RestoreWizard } from './restore-wizard';

export const metadata: Metadata = { title: 'Restore' };
export const dynamic = 'force-dynamic';

/** The Restore area: the wizard (opened on a point by `?point=`), the VMs running from backups, the latest restores. */
export default async function RestorePage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const { point } = await searchParams;
  const user = await currentUser();
  const canRestore = Boolean(user && can(user.role, 'restore'));
  const db = prisma();
  const [choices, initial, instant, recent] = await Promise.all([
    restoreChoices(),
    chosenPoint(point),
    new InstantRecoveries(db).list({ live: true }).then((rows) => toInstantDtos(db, rows)),
    listRestores(1, 10),
  ]);
  return (
    <>
      <PageHeader title="Restore" />
      {canRestore ? (
        <RestoreWizard key={point ?? ''} choices={choices} initial={initial} />
      ) : (
        <p className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-sm text-slate-500">
          Your role may see restores but not start them: a Restore Operator, Backup Operator or Administrator can.
        </p>
      )}
      {point && !initial && <p className="mt-2 text-sm text-amber-700">The restore point of the link is no longer in the catalog: choose another.</p>}
      <section className="mt-10" id="instant">
        <h2 className="mb-2 text-lg font-semibold">Instant recoveries</h2>
        <InstantPanel initial={instant} canRestore={canRestore} />
      </section>
      <section className="mt-10">
        <h2 className="mb-2 text-lg font-semibold">Latest restores</h2>
        {recent.data.length === 0 ? (
          <p className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-sm text-slate-500">No restore yet.</p>
        ) : (
          <table className="w-full rounded-lg border border-slate-200 bg-white text-sm">
            <thead className="bg-slate-100 text-left text-slate-600">
              <tr>
                <th className="p-3">Restore</th>
                <th className="p-3">Status</th>
                <th className="p-3">Point</th>
                <th className="p-3">To</th>
                <th className="p-3">Started</th>
              </tr>
            </thead>
            <tbody>
              {recent.data.map((s) => (
                <tr key={s.id} className="border-t border-slate-200">
                  <td className="p-3">
                    <Link href={`/sessions/${s.id}`} className="text-sky-700 underline">
                      {s.restore.kindName}
                    </Link>
                  </td>
                  <td className="p-3">
                    <StatusBadge status={s.status} />
                  </td>
                  <td className="p-3">
                    {s.restore.point.vmName}, {new Date(s.restore.point.time).toLocaleString()}
                  </td>
                  <td className="p-3">{s.restore.target}</td>
                  <td className="p-3">
                    {new Date(s.startedAt).toLocaleString()} by {s.triggeredBy}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {recent.total > recent.data.length && (
          <Link href="/sessions?kind=restore" className="mt-2 inline-block text-sm text-sky-700 underline">
            All {recent.total} restores
          </Link>
        )}
      </section>
    </>
  );
}
