'use client';

import { useState } from 'react';
import { api } from '@/components/api-client';
import { useMutation } from '@/components/use-mutation';
import type { MoverDto } from '@/server/schemas';

function age(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  return seconds < 90 ? `${seconds}s ago` : `${Math.round(seconds / 60)} min ago`;
}

export function MoversTable({ initial, editable }: { initial: MoverDto[]; editable: boolean }) {
  const [movers, setMovers] = useState(initial);
  const { run, error } = useMutation();

  function change(mover: MoverDto, changes: { maxConcurrentTasks?: number; enabled?: boolean }) {
    return run(
      async () => {
        const updated = await api<MoverDto>('PATCH', `/movers/${mover.id}`, { version: mover.version, ...changes });
        setMovers((all) => all.map((m) => (m.id === updated.id ? updated : m)));
      },
      // The row may have been stale (409): show the movers as stored.
      { onError: async () => setMovers((await api<{ data: MoverDto[] }>('GET', '/movers')).data) },
    );
  }

  if (movers.length === 0) {
    return <p className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-slate-500">No mover has registered yet.</p>;
  }
  return (
    <>
      {error && (
        <p role="alert" className="mb-2 rounded bg-red-50 px-3 py-2 text-sm text-red-700">
          {error.text}
        </p>
      )}
      <table className="w-full overflow-hidden rounded-lg border border-slate-200 bg-white text-sm">
        <thead className="bg-slate-100 text-left text-slate-600">
          <tr>
            <th className="p-3">Name</th>
            <th className="p-3">Host</th>
            <th className="p-3">Site</th>
            <th className="p-3">Cores</th>
            <th className="p-3">Max tasks</th>
            <th className="p-3">State</th>
            <th className="p-3">Heartbeat</th>
          </tr>
        </thead>
        <tbody>
          {movers.map((m) => (
            <tr key={m.id} className="border-t border-slate-200" data-testid={`mover-${m.name}`}>
              <td className="p-3">{m.name}</td>
              <td className="p-3">{m.hostName}</td>
              <td className="p-3">{m.site}</td>
              <td className="p-3">{m.cores}</td>
              <td className="p-3">
                {editable ? (
                  <input
                    type="number"
                    min={1}
                    max={256}
                    defaultValue={m.maxConcurrentTasks}
                    aria-label={`Max tasks of ${m.name}`}
                    className="w-20 rounded border border-slate-300 px-2 py-1"
                    onBlur={(e) => Number(e.target.value) !== m.maxConcurrentTasks && change(m, { maxConcurrentTasks: Number(e.target.value) })}
                  />
                ) : (
                  m.maxConcurrentTasks
                )}
              </td>
              <td className="p-3">
                <span className={`rounded px-2 py-0.5 text-xs font-medium ${m.online ? 'bg-emerald-100 text-emerald-800' : 'bg-slate-200 text-slate-600'}`}>
                  {m.online ? 'online' : 'offline'}
                </span>
                {!m.enabled && <span className="ml-2 text-xs text-amber-700">disabled</span>}
                {editable && (
                  <button type="button" className="ml-2 text-xs text-sky-700 underline" onClick={() => change(m, { enabled: !m.enabled })}>
                    {m.enabled ? 'Disable' : 'Enable'}
                  </button>
                )}
              </td>
              <td className="p-3 text-slate-500">{age(m.lastHeartbeatAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
