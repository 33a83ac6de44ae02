'use client';

import { useCallback, useEffect, useState } from 'react';
import { api } from '@/components/api-client';
import { toMutationError, useMutation } from '@/components/use-mutation';
import type { MountDto } from '@/server/mount-schemas';
import type { ChosenPoint } from '../restore-data';
import { PointStep, type PointChoice } from '../restore-steps';
import { FileBrowser } from './file-browser';
import { elapsedSeconds } from './guest-files-view';

/** How often a starting (or ending) mount is read again. */
const POLL_MS = 2000;

const STATE_STYLE: Record<MountDto['state'], string> = {
  starting: 'bg-sky-100 text-sky-800',
  ready: 'bg-emerald-100 text-emerald-800',
  stopping: 'bg-slate-200 text-slate-700',
  stopped: 'bg-slate-200 text-slate-700',
  failed: 'bg-red-100 text-red-800',
};

function MountState({ state }: { state: MountDto['state'] }) {
  return (
    <span className={`rounded px-2 py-0.5 text-xs font-medium ${STATE_STYLE[state]}`} data-testid="guest-mount-state">
      {state}
    </span>
  );
}

/** The page's address follows the open mount, so that a reload or a shared link opens it again (no server round trip). */
function showInAddress(mountId: string | null) {
  window.history.replaceState(null, '', mountId ? `/restore/files?mount=${mountId}` : '/restore/files');
}

/**
 * Guest files: a VM and one of its points (the restore wizard's first step), "Browse files"
 * opens it on a mover; while the appliance starts a note says so, then the file browser.
 * The caller's other open mounts are offered to go back to.
 */
export function GuestFiles({
  initial,
  mounts,
  initialMount,
  initialPath,
}: {
  initial: ChosenPoint | null;
  mounts: MountDto[];
  initialMount: MountDto | null;
  /** The folder the browser opens at (a search hit's, a version's). */
  initialPath?: string | undefined;
}) {
  const [choice, setChoice] = useState<PointChoice>(() =>
    initial ? { vm: initial.vm, points: initial.points, point: initial.point } : { vm: null, points: [], point: null },
  );
  const [mount, setMount] = useState<MountDto | null>(initialMount);
  const [open, setOpen] = useState<MountDto[]>(mounts);
  const [pollProblem, setPollProblem] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const { run, busy, error } = useMutation();

  const show = useCallback((m: MountDto | null) => {
    setMount(m);
    setPollProblem(null);
    showInAddress(m?.id ?? null);
  }, []);

  const reread = useCallback(async (id: string) => {
    try {
      const { mount: fresh } = await api<{ mount: MountDto }>('GET', `/mounts/${id}`);
      setMount((m) => (m?.id === fresh.id ? fresh : m));
      setPollProblem(null);
    } catch (e) {
      setPollProblem(toMutationError(e).text);
    }
  }, []);

  // Keyed on the mount's id and whether it is in passage, not on each poll's copy of it.
  const mountId = mount?.id ?? null;
  const waiting = mount?.state === 'starting' || mount?.state === 'stopping';
  useEffect(() => {
    if (!mountId || !waiting) return;
    const tick = setInterval(() => setNow(Date.now()), 1000);
    const poll = setInterval(() => void reread(mountId), POLL_MS);
    return () => {
      clearInterval(tick);
      clearInterval(poll);
    };
  }, [mountId, waiting, reread]);

  async function browse() {
    const point = choice.point;
    if (!point) return;
    const result = await run(() => api<{ mount: MountDto }>('POST', `/restore-points/${point.id}/mounts`));
    if (result.ok) {
      setNow(Date.now());
      show(result.value.mount);
    }
  }

  async function backToPicker() {
    show(null);
    try {
      setOpen((await api<{ data: MountDto[] }>('GET', '/mounts')).data);
    } catch (e) {
      setPollProblem(toMutationError(e).text);
    }
  }

  async function end(id: string) {
    const result = await run(() => api('DELETE', `/mounts/${id}`));
    if (result.ok) {
      setOpen((list) => list.filter((m) => m.id !== id));
      if (mount?.id === id) show(null);
    }
  }

  const errorLine = error && (
    <div role="alert" className="mb-4 rounded bg-red-50 p-3 text-sm text-red-700" data-testid="guest-error">
      {error.text}
    </div>
  );

  if (!mount) {
    const others = open.filter((m) => m.state === 'starting' || m.state === 'ready');
    return (
      <div className="max-w-5xl space-y-6" data-testid="guest-files">
        {errorLine}
        {pollProblem && <p className="text-sm text-red-700">{pollProblem}</p>}
        {others.length > 0 && (
          <section className="rounded-lg border border-slate-200 bg-white p-4" data-testid="guest-open-mounts">
            <h2 className="mb-2 text-sm font-semibold">Your open file browsers</h2>
            <ul className="divide-y divide-slate-100 text-sm">
              {others.map((m) => (
                <li key={m.id} className="flex items-center gap-3 py-2" data-testid={`guest-open-${m.id}`}>
                  <span className="font-medium">{m.vmName}</span>
                  <span className="text-slate-500">point of {new Date(m.pointTime).toLocaleString()}</span>
                  <MountState state={m.state} />
                  <button type="button" onClick={() => show(m)} className="ml-auto text-sky-700 underline" data-testid={`guest-continue-${m.id}`}>
                    Continue browsing
                  </button>
                  <button type="button" disabled={busy} onClick={() => void end(m.id)} className="text-slate-600 underline disabled:opacity-50">
                    End
                  </button>
                </li>
              ))}
            </ul>
          </section>
        )}
        <section className="rounded-lg border border-slate-200 bg-white p-6">
          <PointStep
            draft={choice}
            errors={error?.fields ?? []}
            onVm={(vm, points) => setChoice({ vm, points, point: null })}
            onPoint={(point) => setChoice((c) => ({ ...c, point }))}
          />
        </section>
        <button
          type="button"
          disabled={!choice.point || busy}
          onClick={() => void browse()}
          className="rounded bg-sky-700 px-4 py-2 text-white disabled:opacity-50"
          data-testid="guest-browse"
        >
          {busy ? 'Opening…' : 'Browse files'}
        </button>
      </div>
    );
  }

  const live = mount.state === 'starting' || mount.state === 'ready';
  return (
    <div className="space-y-4" data-testid="guest-files" data-mount-id={mount.id}>
      {errorLine}
      <div className="flex flex-wrap items-center gap-3 rounded-lg border border-slate-200 bg-white p-4">
        <div>
          <div className="font-medium" data-testid="guest-mount-vm">
            {mount.vmName}
          </div>
          <div className="text-sm text-slate-500">point of {new Date(mount.pointTime).toLocaleString()}</div>
        </div>
        <MountState state={mount.state} />
        <div className="ml-auto flex gap-2">
          <button type="button" onClick={() => void backToPicker()} className="rounded px-3 py-1.5 text-sm text-slate-700" data-testid="guest-other-point">
            Another point
          </button>
          {live && (
            <button
              type="button"
              disabled={busy}
              onClick={() => void end(mount.id)}
              className="rounded border border-slate-300 px-3 py-1.5 text-sm disabled:opacity-50"
              data-testid="guest-end"
            >
              End browsing
            </button>
          )}
        </div>
      </div>
      {pollProblem && <p className="text-sm text-amber-700">Could not read the mount&apos;s state: {pollProblem}</p>}
      {mount.state === 'starting' && (
        <p role="status" className="rounded-lg border border-sky-200 bg-sky-50 p-4 text-sm text-sky-900" data-testid="guest-starting">
          Starting the file browser… a minute under software emulation.{' '}
          <span className="text-sky-700" data-testid="guest-elapsed">
            {elapsedSeconds(mount.startedAt, now)} s
          </span>
        </p>
      )}
      {mount.state === 'failed' && (
        <div role="alert" className="rounded-lg bg-red-50 p-4 text-sm text-red-700" data-testid="guest-mount-error">
          The file browser could not open this point: {mount.error ?? 'no reason was recorded.'}
        </div>
      )}
      {(mount.state === 'stopping' || mount.state === 'stopped') && (
        <p className="rounded-lg border border-dashed border-slate-300 bg-white p-4 text-sm text-slate-600" data-testid="guest-ended">
          {mount.state === 'stopping' ? 'This file browser is ending.' : 'This file browser has ended.'}
          {mount.error ? ` ${mount.error}` : ''} Choose another point, or open this one again.
        </p>
      )}
      {mount.state === 'ready' && <FileBrowser mount={mount} onStale={() => void reread(mount.id)} initialPath={initialPath} />}
    </div>
  );
}
