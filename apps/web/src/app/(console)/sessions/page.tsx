import type { Metadata } from 'next';
import Link from 'next/link';
import { prisma, Runs } from '@strongbox/db';
import { PageHeader } from '@/components/area-page';
import { bytes, duration } from '@/components/format';
import { ProgressBar, StatusBadge } from '@/components/status-badge';
import { RUN_STATUSES, sessionQuery } from '@/server/schemas';
import { toSessionDto } from '@/server/sessions-service';

export const metadata: Metadata = { title: 'Sessions' };
export const dynamic = 'force-dynamic';

export default async function SessionsPage({ searchParams }: { searchParams: Promise<Record<string, string>> }) {
  const q = sessionQuery.safeParse(await searchParams);
  const filter = q.success ? q.data : sessionQuery.parse({});
  const { rows, total } = await new Runs(prisma()).list({ status: filter.status, jobId: filter.jobId, kind: filter.kind }, filter.page, filter.perPage);
  const sessions = rows.map((r) => toSessionDto(r));
  return (
    <>
      <PageHeader title="Sessions" />
      <form className="mb-4 flex gap-3 text-sm" method="get">
        <label className="flex items-center gap-2">
          Status
          <select name="status" defaultValue={filter.status ?? ''} className="rounded border border-slate-300 px-2 py-1">
            <option value="">any</option>
            {RUN_STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label className="flex items-center gap-2">
          Kind
          <select name="kind" defaultValue={filter.kind ?? ''} className="rounded border border-slate-300 px-2 py-1">
            <option value="">any</option>
            <option value="backup">backup</option>
            <option value="maintenance">maintenance</option>
            <option value="restore">restore</option>
          </select>
        </label>
        <button className="rounded bg-slate-700 px-3 py-1 text-white">Filter</button>
        <span className="ml-auto self-center text-slate-500">{total} session(s)</span>
      </form>
      {sessions.length === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 bg-white p-10 text-center text-slate-500">No session yet.</p>
      ) : (
        <table className="w-full rounded-lg border border-slate-200 bg-white text-sm">
          <thead className="bg-slate-100 text-left text-slate-600">
            <tr>
              <th className="p-3">Session</th>
              <th className="p-3">Status</th>
              <th className="w-48 p-3">Progress</th>
              <th className="p-3">Started</th>
              <th className="p-3">Duration</th>
              <th className="p-3">Read</th>
              <th className="p-3">Transferred</th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.id} className="border-t border-slate-200" data-testid={`session-${s.id}`}>
                <td className="p-3">
                  <Link className="text-sky-700 underline" href={`/sessions/${s.id}`}>
                    {s.name}
                  </Link>
                </td>
                <td className="p-3">
                  <StatusBadge status={s.status} />
                </td>
                <td className="p-3">
                  <ProgressBar percent={s.percent} label={`${s.name} progress`} />
                </td>
                <td className="p-3">{new Date(s.startedAt).toLocaleString()}</td>
                <td className="p-3">{duration(s.durationMs)}</td>
                <td className="p-3">{bytes(s.bytesRead)}</td>
                <td className="p-3">{bytes(s.bytesTransferred)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
