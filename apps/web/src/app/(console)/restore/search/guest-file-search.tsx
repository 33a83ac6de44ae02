'use client';

import Link from 'next/link';
import { useState } from 'react';
import { api } from '@/components/api-client';
import { toMutationError } from '@/components/use-mutation';
import type { GuestFileHitDto } from '@/server/mount-schemas';
import { browserAt, humanSize } from '../files/guest-files-view';

/** The search form and its hits, newest point first; each hit opens its point in the file browser at its folder. */
export function GuestFileSearch({ vms, indexedPoints }: { vms: { id: string; name: string }[]; indexedPoints: number }) {
  const [q, setQ] = useState('');
  const [vmId, setVmId] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [hits, setHits] = useState<GuestFileHitDto[] | null>(null);
  const [limit, setLimit] = useState(100);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function search(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    const params = new URLSearchParams({ q });
    if (vmId) params.set('vmId', vmId);
    if (from) params.set('from', new Date(from).toISOString());
    if (to) params.set('to', new Date(to).toISOString());
    try {
      const r = await api<{ data: GuestFileHitDto[]; limit: number }>('GET', `/guest-files?${params}`);
      setHits(r.data);
      setLimit(r.limit);
    } catch (error) {
      setProblem(toMutationError(error).text);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="space-y-4">
      <p className="text-sm text-slate-600">
        {indexedPoints} restore point(s) are indexed. Jobs with the option “Index guest files” index each new point after its backup.
      </p>
      <form onSubmit={(e) => void search(e)} className="flex flex-wrap items-end gap-3 rounded-lg border border-slate-200 bg-white p-4 text-sm">
        <label className="flex flex-col">
          Name
          <input
            value={q}
            onChange={(e) => setQ(e.target.value)}
            placeholder="report, *.conf, rep?rt*"
            className="w-64 rounded border border-slate-300 px-2 py-1"
            data-testid="guest-search-q"
          />
        </label>
        <label className="flex flex-col">
          VM
          <select value={vmId} onChange={(e) => setVmId(e.target.value)} className="rounded border border-slate-300 px-1 py-1" data-testid="guest-search-vm">
            <option value="">Any</option>
            {vms.map((v) => (
              <option key={v.id} value={v.id}>
                {v.name}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col">
          Points from
          <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} className="rounded border border-slate-300 px-1 py-1" />
        </label>
        <label className="flex flex-col">
          to
          <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} className="rounded border border-slate-300 px-1 py-1" />
        </label>
        <button type="submit" disabled={busy} className="rounded bg-sky-700 px-4 py-1.5 text-white disabled:opacity-50" data-testid="guest-search-go">
          {busy ? 'Searching…' : 'Search'}
        </button>
      </form>
      {problem && (
        <p role="alert" className="text-sm text-red-700" data-testid="guest-search-error">
          {problem}
        </p>
      )}
      {hits && (
        <table className="w-full rounded-lg border border-slate-200 bg-white text-sm" data-testid="guest-search-hits">
          <thead className="bg-slate-100 text-left text-slate-600">
            <tr>
              <th className="p-2">VM</th>
              <th className="p-2">Restore point</th>
              <th className="p-2">Path</th>
              <th className="p-2 text-right">Size</th>
              <th className="p-2">Modified</th>
              <th className="p-2" />
            </tr>
          </thead>
          <tbody>
            {hits.map((h) => (
              <tr key={`${h.pointId}${h.path}`} className="border-t border-slate-100" data-testid="guest-search-hit">
                <td className="p-2">{h.vmName}</td>
                <td className="p-2">{new Date(h.pointTime).toLocaleString()}</td>
                <td className="p-2 font-mono text-xs">
                  {h.path}
                  {h.type === 'directory' ? '/' : ''}
                </td>
                <td className="p-2 text-right tabular-nums">{h.type === 'file' ? humanSize(h.size) : ''}</td>
                <td className="p-2">{new Date(h.mtime).toLocaleString()}</td>
                <td className="p-2">
                  <Link href={browserAt(h.pointId, h.path, h.type === 'directory')} className="text-sky-700 underline" data-testid="guest-search-open">
                    Open in the browser
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {hits && hits.length === 0 && <p className="text-sm text-slate-500">No indexed file is named like that.</p>}
      {hits && hits.length === limit && <p className="text-sm text-slate-500">The first {limit} hits: narrow the name, the VM or the time range.</p>}
    </div>
  );
}
