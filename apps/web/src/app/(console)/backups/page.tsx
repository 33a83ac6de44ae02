import type { Metadata } from 'next';
import Link from 'next/link';
import { can } from '@strongbox/core';
import { prisma, RestorePoints } from '@strongbox/db';
import { PageHeader } from '@/components/area-page';
import { bytes } from '@/components/format';
import { currentUser } from '@/server/auth';

export const metadata: Metadata = { title: 'Backups' };
export const dynamic = 'force-dynamic';

/** Restore points, grouped by job and VM, newest first. */
export default async function BackupsPage() {
  const [points, user] = await Promise.all([new RestorePoints(prisma()).byVm(), currentUser()]);
  const canRestore = Boolean(user && can(user.role, 'restore'));
  const groups = new Map<string, typeof points>();
  for (const p of points) {
    const key = `${p.job?.name ?? '(no job)'} / ${p.vmName}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return (
    <>
      <PageHeader title="Backups" />
      {groups.size === 0 && <p className="rounded-lg border border-dashed border-slate-300 bg-white p-10 text-center text-slate-500">No restore point yet.</p>}
      {[...groups.entries()].map(([key, list]) => (
        <section key={key} className="mb-6" data-testid={`points-${list[0]!.vmName}`}>
          <h2 className="mb-2 font-semibold">
            {key}{' '}
            <span className="font-normal text-slate-500">
              ({list.length} restore point{list.length === 1 ? '' : 's'}, {list[0]!.repository.name})
            </span>
          </h2>
          <table className="w-full rounded-lg border border-slate-200 bg-white text-sm">
            <thead className="bg-slate-100 text-left text-slate-600">
              <tr>
                <th className="p-2">Time</th>
                <th className="p-2">Kind</th>
                <th className="p-2">Disks</th>
                <th className="p-2">New data</th>
                <th className="p-2" />
              </tr>
            </thead>
            <tbody>
              {list.map((p) => {
                const disks = p.disks;
                return (
                  <tr key={p.id} className="border-t border-slate-200" data-testid="restore-point">
                    <td className="p-2">{p.time.toLocaleString()}</td>
                    <td className="p-2">{p.kind}</td>
                    <td className="p-2">{disks.map((d) => `${d.name} ${bytes(d.size)}`).join(', ')}</td>
                    <td className="p-2">{bytes(disks.reduce((n, d) => n + d.storedBytes, 0))}</td>
                    <td className="space-x-3 p-2 text-right">
                      {canRestore && (
                        <Link className="text-sky-700 underline" href={`/restore?point=${p.id}`} data-testid={`restore-from-${p.id}`}>
                          Restore…
                        </Link>
                      )}
                      {p.sessionId && (
                        <Link className="text-sky-700 underline" href={`/sessions/${p.sessionId}`}>
                          session
                        </Link>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
      ))}
    </>
  );
}
