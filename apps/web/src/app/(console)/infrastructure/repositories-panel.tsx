'use client';

import { useState, type FormEvent } from 'react';
import { api } from '@/components/api-client';
import { bytes } from '@/components/format';
import { useMutation } from '@/components/use-mutation';
import type { toRepositoryDto } from '@/server/dto';

type RepositoryDto = ReturnType<typeof toRepositoryDto>;
type Limit = 'readRateLimitMiBs' | 'writeRateLimitMiBs';

const field = 'rounded border border-slate-300 px-2 py-1';
const rate = (mibs: number | null) => (mibs === null ? 'unlimited' : `${mibs} MiB/s`);
/** An empty limit field means no limit, which the API spells null. */
const limitOf = (text: string) => (text.trim() === '' ? null : Number(text));

/** Repositories with their limits; add one, change limits inline, remove an unused one. */
export function RepositoriesPanel({ initial, editable, canDelete }: { initial: RepositoryDto[]; editable: boolean; canDelete: boolean }) {
  const [repos, setRepos] = useState(initial);
  const { run, error } = useMutation();
  const reload = async () => setRepos((await api<{ data: RepositoryDto[] }>('GET', '/repositories')).data);

  // After a failure too: a 409 means the row's version was stale, and the form shows the stored values again.
  const attempt = (action: () => Promise<unknown>) =>
    run(
      async () => {
        await action();
        await reload();
      },
      { onError: reload },
    );

  function add(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    void attempt(() =>
      api('POST', '/repositories', {
        name: String(form.get('name') ?? ''),
        path: String(form.get('path') ?? ''),
        maxConcurrentTasks: Number(form.get('maxConcurrentTasks') || 4),
        readRateLimitMiBs: limitOf(String(form.get('readRateLimitMiBs') ?? '')),
        writeRateLimitMiBs: limitOf(String(form.get('writeRateLimitMiBs') ?? '')),
        verifyEveryDays: Number(form.get('verifyEveryDays') || 7),
      }),
    );
  }

  function limitCell(r: RepositoryDto, limit: Limit, label: string) {
    if (!editable) return rate(r[limit]);
    return (
      <span className="flex items-center gap-1 whitespace-nowrap">
        <input
          aria-label={`${label} of ${r.name}`}
          type="number"
          min={1}
          placeholder="unlimited"
          defaultValue={r[limit] ?? ''}
          className={`${field} w-28`}
          onBlur={(e) => {
            // A number field holds '' for text it cannot read: that is not "unlimited".
            if (e.target.validity.badInput) return;
            const value = limitOf(e.target.value);
            if (value !== r[limit]) void attempt(() => api('PATCH', `/repositories/${r.id}`, { version: r.version, [limit]: value }));
          }}
        />
        MiB/s
      </span>
    );
  }

  return (
    <>
      {error && (
        <p role="alert" className="mb-3 rounded bg-red-50 px-3 py-2 text-sm text-red-700">
          {error.text}
        </p>
      )}
      <table className="mb-3 w-full overflow-hidden rounded-lg border border-slate-200 bg-white text-sm">
        <thead className="bg-slate-100 text-left text-slate-600">
          <tr>
            <th className="p-3">Name</th>
            <th className="p-3">Path</th>
            <th className="p-3">Max tasks</th>
            <th className="p-3">Read limit</th>
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
              {/* Reads are health checks and restores; writes are backups. */}
              <td className="p-3">{limitCell(r, 'readRateLimitMiBs', 'read limit')}</td>
              <td className="p-3">{limitCell(r, 'writeRateLimitMiBs', 'write limit')}</td>
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
            Read limit MiB/s
            <input name="readRateLimitMiBs" type="number" min={1} className={`${field} w-28`} />
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
