'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { describeSchedule } from '@strongbox/core';
import { api } from '@/components/api-client';
import { useMutation } from '@/components/use-mutation';
import type { JobDto } from '@/server/jobs-service';

export function JobsTable({ initial, canEdit, canRun, canDelete }: { initial: JobDto[]; canEdit: boolean; canRun: boolean; canDelete: boolean }) {
  const router = useRouter();
  const [jobs, setJobs] = useState(initial);
  const [done, setDone] = useState<string | null>(null);
  const { run: mutate, busy, error } = useMutation();

  async function run(action: () => Promise<unknown>, text: string) {
    setDone(null);
    const result = await mutate(async () => {
      await action();
      setJobs((await api<{ data: JobDto[] }>('GET', '/jobs?perPage=200')).data);
    });
    if (result.ok) setDone(text);
  }

  // The session exists when the start answers: follow the run there.
  async function start(job: JobDto) {
    setDone(null);
    const result = await mutate(() => api<{ sessionId: string }>('POST', `/jobs/${job.id}/start`));
    if (!result.ok) return;
    setDone(`${job.name} started.`);
    router.push(`/sessions/${result.value.sessionId}`);
  }

  const message = error ? { ok: false, text: error.text } : done ? { ok: true, text: done } : null;
  // A start refused because the job runs already names that run.
  const running = error?.conflict ? error.details.sessionId : undefined;

  if (jobs.length === 0) {
    return <p className="rounded-lg border border-dashed border-slate-300 bg-white p-10 text-center text-slate-500">No backup job yet.</p>;
  }
  return (
    <>
      {message && (
        <p role="status" className={`mb-3 rounded px-3 py-2 text-sm ${message.ok ? 'bg-emerald-50 text-emerald-800' : 'bg-red-50 text-red-700'}`}>
          {message.text}
          {running && (
            <>
              {' '}
              <Link href={`/sessions/${running}`} className="text-sky-700 underline">
                open the running session
              </Link>
            </>
          )}
        </p>
      )}
      <table className="w-full overflow-hidden rounded-lg border border-slate-200 bg-white text-sm">
        <thead className="bg-slate-100 text-left text-slate-600">
          <tr>
            <th className="p-3">Name</th>
            <th className="p-3">Objects</th>
            <th className="p-3">Schedule</th>
            <th className="p-3">State</th>
            <th className="p-3" />
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.id} className="border-t border-slate-200" data-testid={`job-${job.name}`}>
              <td className="p-3 font-medium">{job.name}</td>
              <td className="p-3">{job.objects.length} object(s)</td>
              <td className="p-3">
                {describeSchedule(job.schedule, (id) => jobs.find((j) => j.id === id)?.name)} <span className="text-slate-400">({job.timeZone})</span>
              </td>
              <td className="p-3">{job.enabled ? 'Enabled' : <span className="text-amber-700">Disabled</span>}</td>
              <td className="space-x-2 p-3 text-right whitespace-nowrap">
                {canRun && (
                  <button type="button" className="text-sky-700 underline disabled:opacity-50" disabled={busy} onClick={() => void start(job)}>
                    Start
                  </button>
                )}
                {canEdit && (
                  <Link href={`/jobs/${job.id}/edit`} className="text-sky-700 underline">
                    Edit
                  </Link>
                )}
                {canEdit && (
                  <button
                    type="button"
                    className="text-sky-700 underline"
                    onClick={() => run(() => api('POST', `/jobs/${job.id}/clone`), `${job.name} copied.`)}
                  >
                    Clone
                  </button>
                )}
                {canDelete && (
                  <button
                    type="button"
                    className="text-red-700 underline"
                    onClick={() =>
                      confirm(`Delete ${job.name}? Its restore points stay.`) && run(() => api('DELETE', `/jobs/${job.id}`), `${job.name} deleted.`)
                    }
                  >
                    Delete
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
