'use client';

import Link from 'next/link';
import { useCallback, useEffect, useState } from 'react';
import { IMAGE_FORMATS, type ImageFormat } from '@strongbox/core';
import { api } from '@/components/api-client';
import { bytes } from '@/components/format';
import { useMutation } from '@/components/use-mutation';
import type { InstantRecoveryDto } from '@/server/restore-schemas';
import { usePools } from './restore-targets';

/** How often the list is read again: the mover records figures every few seconds. */
const REFRESH_MS = 3000;

const STATE_STYLE: Record<string, string> = {
  starting: 'bg-slate-100 text-slate-700',
  running: 'bg-emerald-100 text-emerald-800',
  migrating: 'bg-sky-100 text-sky-800',
  migrated: 'bg-emerald-100 text-emerald-800',
  stopping: 'bg-slate-200 text-slate-700',
  stopped: 'bg-slate-200 text-slate-700',
  broken: 'bg-red-100 text-red-800',
};

type Asking = { id: string; action: 'migrate' | 'stop' } | null;

function MigrateForm({
  recovery,
  onConfirm,
  onCancel,
  busy,
}: {
  recovery: InstantRecoveryDto;
  onConfirm: (pool: string, format: ImageFormat) => void;
  onCancel: () => void;
  busy: boolean;
}) {
  const { pools, problem } = usePools(recovery.connection?.id ?? '');
  const [pool, setPool] = useState('');
  const [format, setFormat] = useState<ImageFormat>('qcow2');
  const usable = pools?.filter((p) => p.active) ?? [];
  const chosen = pool || usable[0]?.name || '';
  return (
    <div className="flex flex-wrap items-end gap-3 text-sm">
      <label>
        Storage pool
        <select
          value={chosen}
          onChange={(e) => setPool(e.target.value)}
          className="ml-2 rounded border border-slate-300 px-2 py-1"
          data-testid="instant-migrate-pool"
        >
          {usable.map((p) => (
            <option key={p.name} value={p.name}>
              {p.name} — {p.availableBytes === null ? 'free space unknown' : `${bytes(p.availableBytes)} free`}
            </option>
          ))}
        </select>
      </label>
      <label>
        Format
        <select
          value={format}
          onChange={(e) => setFormat(e.target.value as ImageFormat)}
          className="ml-2 rounded border border-slate-300 px-2 py-1"
          data-testid="instant-migrate-format"
        >
          {IMAGE_FORMATS.map((f) => (
            <option key={f}>{f}</option>
          ))}
        </select>
      </label>
      <button
        type="button"
        disabled={busy || !chosen}
        onClick={() => onConfirm(chosen, format)}
        className="rounded bg-sky-700 px-3 py-1 text-white disabled:opacity-50"
        data-testid="instant-confirm"
      >
        Migrate {recovery.vmName}
      </button>
      <button type="button" onClick={onCancel} className="px-2 py-1">
        Cancel
      </button>
      {problem && <span className="text-red-700">{problem}</span>}
      {pools?.length === 0 && <span className="text-amber-700">No storage pool on this connection: rescan it in Infrastructure.</span>}
      <p className="w-full text-xs text-slate-500">The disks are copied while the VM runs; then it runs from the pool and the backup is no longer used.</p>
    </div>
  );
}

/** Instant recoveries: what each serves, and the two ways out of one (migrate to production, stop publishing). Read again every few seconds. */
export function InstantPanel({ initial, canRestore }: { initial: InstantRecoveryDto[]; canRestore: boolean }) {
  const [rows, setRows] = useState(initial);
  const [asking, setAsking] = useState<Asking>(null);
  const [done, setDone] = useState<string | null>(null);
  const { run, busy, error } = useMutation();

  const reload = useCallback(async () => setRows((await api<{ data: InstantRecoveryDto[] }>('GET', '/instant-recoveries')).data), []);
  useEffect(() => {
    const timer = setInterval(() => void reload().catch(() => undefined), REFRESH_MS); // the next poll retries
    return () => clearInterval(timer);
  }, [reload]);

  async function act(r: InstantRecoveryDto, action: 'migrate' | 'stop', body?: { pool: string; format: ImageFormat }) {
    setDone(null);
    const result = await run(async () => {
      await api('POST', `/instant-recoveries/${r.id}/${action}`, body);
      await reload();
    });
    if (!result.ok) return;
    setAsking(null);
    setDone(action === 'migrate' ? `Migrating ${r.vmName} to production…` : `Stopping ${r.vmName}…`);
  }

  if (rows.length === 0)
    return <p className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-sm text-slate-500">No VM runs from a backup.</p>;
  return (
    <div className="space-y-2">
      {(error || done) && (
        <p role={error ? 'alert' : 'status'} className={`rounded px-3 py-2 text-sm ${error ? 'bg-red-50 text-red-700' : 'bg-slate-100'}`}>
          {error?.text ?? done}
        </p>
      )}
      <table className="w-full rounded-lg border border-slate-200 bg-white text-sm">
        <thead className="bg-slate-100 text-left text-slate-600">
          <tr>
            <th className="p-3">VM</th>
            <th className="p-3">State</th>
            <th className="p-3">Since</th>
            <th className="p-3">Data served</th>
            <th className="p-3">Overlay</th>
            <th className="p-3">Error</th>
            <th className="p-3" />
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <RecoveryRows key={r.id} r={r} asking={asking} setAsking={setAsking} canRestore={canRestore} busy={busy} act={act} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RecoveryRows({
  r,
  asking,
  setAsking,
  canRestore,
  busy,
  act,
}: {
  r: InstantRecoveryDto;
  asking: Asking;
  setAsking: (a: Asking) => void;
  canRestore: boolean;
  busy: boolean;
  act: (r: InstantRecoveryDto, action: 'migrate' | 'stop', body?: { pool: string; format: ImageFormat }) => Promise<void>;
}) {
  const open = asking?.id === r.id ? asking.action : null;
  return (
    <>
      <tr className="border-t border-slate-200" data-testid={`instant-row-${r.vmName}`}>
        <td className="p-3">
          <Link href={`/sessions/${r.sessionId}`} className="font-medium text-sky-700 underline">
            {r.vmName}
          </Link>
          <span className="block text-xs text-slate-500">{r.connection?.name ?? ''}</span>
        </td>
        <td className="p-3">
          <span data-state={r.state} className={`rounded px-2 py-0.5 text-xs font-medium ${STATE_STYLE[r.state] ?? ''}`}>
            {r.state}
          </span>
        </td>
        <td className="p-3">{new Date(r.runningAt ?? r.startedAt).toLocaleString()}</td>
        <td className="p-3">{bytes(r.bytesServed)}</td>
        <td className="p-3">{bytes(r.overlayBytes)}</td>
        <td className="max-w-xs p-3 text-red-700">{r.error ?? ''}</td>
        <td className="space-x-3 whitespace-nowrap p-3 text-right">
          {canRestore && r.state === 'running' && (
            <button
              type="button"
              className="text-sky-700 underline"
              onClick={() => setAsking({ id: r.id, action: 'migrate' })}
              data-testid={`instant-migrate-${r.vmName}`}
            >
              Migrate to production
            </button>
          )}
          {canRestore && (r.state === 'running' || r.state === 'broken') && (
            <button
              type="button"
              className="text-red-700 underline"
              onClick={() => setAsking({ id: r.id, action: 'stop' })}
              data-testid={`instant-stop-${r.vmName}`}
            >
              Stop publishing
            </button>
          )}
        </td>
      </tr>
      {open && (
        <tr className="bg-slate-50">
          <td colSpan={7} className="p-3">
            {open === 'migrate' ? (
              <MigrateForm recovery={r} busy={busy} onCancel={() => setAsking(null)} onConfirm={(pool, format) => void act(r, 'migrate', { pool, format })} />
            ) : (
              <div className="flex items-center gap-3 text-sm">
                <span>
                  Stop publishing <b>{r.vmName}</b>? The VM is removed with what changed in it since it started; the backup stays as it was.
                </span>
                <button
                  type="button"
                  disabled={busy}
                  onClick={() => void act(r, 'stop')}
                  className="rounded bg-red-700 px-3 py-1 text-white disabled:opacity-50"
                  data-testid="instant-confirm"
                >
                  Stop publishing
                </button>
                <button type="button" onClick={() => setAsking(null)} className="px-2 py-1">
                  Cancel
                </button>
              </div>
            )}
          </td>
        </tr>
      )}
    </>
  );
}
