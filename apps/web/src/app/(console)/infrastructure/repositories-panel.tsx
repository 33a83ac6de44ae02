'use client';

import { useState, type FormEvent } from 'react';
import { api, ApiError } from '@/components/api-client';
import { bytes } from '@/components/format';
import type { toRepositoryDto } from '@/server/dto';

type RepositoryDto = ReturnType<typeof toRepositoryDto>;

const field = 'rounded border border-slate-300 px-2 py-1';

/** Repositories with their limits; add one, change limits inline, remove an unused one. */
export function RepositoriesPanel({ initial, editable, canDelete }: { initial: RepositoryDto[]; editable: boolean; canDelete: boolean }) {
  const [repos, setRepos] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const reload = async () => setRepos((await api<{ data: RepositoryDto[] }>('GET', '/repositories')).data);

  async function attempt(action: () => Promise<unknown>) {
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(
        e instanceof ApiError && e.details?.fields
          ? e.details.fields.map((f) => `${f.field}: ${f.message}`).join('; ')
          : e instanceof Error
            ? e.message
            : String(e),
      );
    }
    await reload();
  }

  function add(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const limit = (name: string) => (form.get(name) ? Number(form.get(name)) : null);
    void attempt(() =>
      api('POST', '/repositories', {
        name: String(form.get('name') ?? ''),
        path: String(form.get('path') ?? ''),
        maxConcurrentTasks: Number(form.get('maxConcurrentTasks') || 4),
        writeRateLimitMiBs: limit('writeRateLimitMiBs'),
        verifyEveryDays: Number(form.get('verifyEveryDays') || 7),
      }),
    );
  }

  return (
    <>
      {error && (
        <p role="alert" className="mb-3 rounded bg-red-50 px-3 py-2 text-sm text-red-700">
          {error}
        </p>
      )}
      <table className="mb-3 w-full overflow-hidden rounded-lg border border-slate-200 bg-white text-sm">
        <thead className="bg-slate-100 text-left text-slate-600">
          <tr>
            <th className="p-3">Name</th>
            <th className="p-3">Path</th>
            <th className="p-3">Max tasks</th>
            <th className="p-3">Write limit</th>
            <th className="p-3">Points</th>
            <th className="p-3">Health check</th>
            <th className="p-3" />
          </tr>
        </thead>
        <tbody>
          {repos.map((r) => (
            <tr key={r.id} className="border-t border-slate-200" data-testid={`repository-${r.name}`}>
              <td className="p-3">
                {r.name}
                {r.isDefault ? ' (default)' : ''}
              </td>
              <td className="p-3">
                <code>{r.path}</code>
              </td>
              <td className="p-3">
                {editable ? (
                  <input
                    aria-label={`max tasks of ${r.name}`}
                    type="number"
                    min={1}
                    defaultValue={r.maxConcurrentTasks}
                    className={`${field} w-20`}
                    onBlur={(e) =>
                      Number(e.target.value) !== r.maxConcurrentTasks &&
                      void attempt(() => api('PATCH', `/repositories/${r.id}`, { version: r.version, maxConcurrentTasks: Number(e.target.value) }))
                    }
                  />
                ) : (
                  r.maxConcurrentTasks
                )}
              </td>
              <td className="p-3">{r.writeRateLimitMiBs === null ? 'unlimited' : `${r.writeRateLimitMiBs} MiB/s`}</td>
              <td className="p-3">
                {r.points} ({bytes(r.storedBytes)})
              </td>
              <td className="p-3">
                {r.verifyEveryDays ? `every ${r.verifyEveryDays} d` : 'off'}
                {r.lastVerifiedAt ? `, last ${new Date(r.lastVerifiedAt).toLocaleDateString()}` : ''}
              </td>
              <td className="p-3 text-right">
                {canDelete && !r.isDefault && (
                  <button type="button" className="text-red-700 underline" onClick={() => void attempt(() => api('DELETE', `/repositories/${r.id}`))}>
                    Remove
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {editable && (
        <form onSubmit={add} className="flex flex-wrap items-end gap-3 rounded-lg border border-slate-200 bg-white p-4 text-sm">
          <label className="flex flex-col">
            Name
            <input name="name" required className={field} />
          </label>
          <label className="flex flex-col">
            Path
            <input name="path" required placeholder="/mnt/backups" className={field} />
          </label>
          <label className="flex flex-col">
            Max tasks
            <input name="maxConcurrentTasks" type="number" min={1} defaultValue={4} className={`${field} w-20`} />
          </label>
          <label className="flex flex-col">
            Write limit MiB/s
            <input name="writeRateLimitMiBs" type="number" min={1} className={`${field} w-28`} />
          </label>
          <label className="flex flex-col">
            Verify every (days)
            <input name="verifyEveryDays" type="number" min={0} defaultValue={7} className={`${field} w-20`} />
          </label>
          <button className="rounded bg-sky-700 px-4 py-1.5 text-white">Add repository</button>
        </form>
      )}
    </>
  );
}
