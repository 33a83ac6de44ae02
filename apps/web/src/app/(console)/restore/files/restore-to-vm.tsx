'use client';

import Link from 'next/link';
import { useState } from 'react';
import type { FileRestoreMode } from '@strongbox/core';
import { api } from '@/components/api-client';
import { toMutationError } from '@/components/use-mutation';
import type { MountDto } from '@/server/mount-schemas';
import type { Selected } from './guest-files-view';

const MODES: { value: FileRestoreMode; label: string }[] = [
  { value: 'keep-both', label: 'Keep both (restored copy gets .restored-<time>)' },
  { value: 'overwrite', label: "Overwrite the VM's files" },
];

/**
 * "Restore to VM": the selection written back into the running original VM through its guest
 * agent. Asks once (what, where, how), then starts a restore session and links to it; the
 * server refuses a VM that is off or has no agent, and the session says why.
 */
export function RestoreToVm({ mount, chosen }: { mount: MountDto; chosen: readonly Selected[] }) {
  const [mode, setMode] = useState<FileRestoreMode>('keep-both');
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [sessionId, setSessionId] = useState<string | null>(null);

  async function restore() {
    setBusy(true);
    setProblem(null);
    try {
      const r = await api<{ sessionId: string }>('POST', `/mounts/${mount.id}/restore`, { paths: chosen.map((c) => c.path), mode });
      setSessionId(r.sessionId);
      setAsking(false);
    } catch (e) {
      setProblem(toMutationError(e).text);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="flex flex-wrap items-center gap-2 text-sm" data-testid="guest-restore">
      <select
        value={mode}
        onChange={(e) => setMode(e.target.value as FileRestoreMode)}
        aria-label="When the VM has the file"
        className="rounded border border-slate-300 px-1 py-1"
        data-testid="guest-restore-mode"
      >
        {MODES.map((m) => (
          <option key={m.value} value={m.value}>
            {m.label}
          </option>
        ))}
      </select>
      <button
        type="button"
        disabled={chosen.length === 0 || busy}
        onClick={() => setAsking(true)}
        className="rounded border border-sky-700 px-4 py-1.5 text-sky-800 disabled:opacity-50"
        data-testid="guest-restore-start"
      >
        Restore to VM
      </button>
      {asking && (
        <div role="dialog" aria-label="Restore to VM" className="w-full rounded border border-amber-300 bg-amber-50 p-3" data-testid="guest-restore-confirm">
          <p>
            Write {chosen.length} selected item(s) into the running VM <b>{mount.vmName}</b>,{' '}
            {mode === 'overwrite' ? 'replacing its files of the same name' : 'beside its files of the same name'}?
          </p>
          <div className="mt-2 flex gap-2">
            <button
              type="button"
              disabled={busy}
              onClick={() => void restore()}
              className="rounded bg-sky-700 px-4 py-1.5 text-white"
              data-testid="guest-restore-confirm-yes"
            >
              {busy ? 'Starting…' : 'Restore'}
            </button>
            <button type="button" onClick={() => setAsking(false)} className="rounded border border-slate-300 px-4 py-1.5">
              Cancel
            </button>
          </div>
        </div>
      )}
      {problem && (
        <p role="alert" className="w-full text-red-700" data-testid="guest-restore-error">
          {problem}
        </p>
      )}
      {sessionId && (
        <p className="w-full text-emerald-800" data-testid="guest-restore-started">
          Restore started.{' '}
          <Link href={`/sessions/${sessionId}`} className="underline" data-testid="guest-restore-session">
            Follow its session
          </Link>
        </p>
      )}
    </div>
  );
}
