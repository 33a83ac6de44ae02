'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { MAINTENANCE_NAMES } from '@strongbox/core';
import { api } from '@/components/api-client';
import { bytes, duration } from '@/components/format';
import { ProgressBar, StatusBadge } from '@/components/status-badge';
import { ThroughputChart } from '@/components/throughput-chart';
import { useMutation } from '@/components/use-mutation';
import type { RestoreOfSession } from '@/server/restores-service';
import type { SessionDto, TaskDto, toLogDto } from '@/server/sessions-service';
import { RestoreFacts } from './restore-facts';

type Log = ReturnType<typeof toLogDto>;
/** The session a retry ran again, as page.tsx found it (null when it has been deleted since). */
export type RetryOf = { name: string; startedAt: string } | null;

const BOTTLENECK: Record<string, string> = { source: 'Source', proxy: 'Proxy', network: 'Network', target: 'Target', throttling: 'Throttling' };
/** Movers send figures every second; a minute without any is worth a look (a stuck read, a lost mover). */
const SILENT_AFTER_SECONDS = 60;
const UNIT_NAMES: Record<string, string> = MAINTENANCE_NAMES;

/** What a task is grouped under: its VM, or for maintenance (no VM) the operation as the operator knows it. */
const groupOf = (t: TaskDto) => t.vmName ?? UNIT_NAMES[t.unit] ?? '?';

/** A backup reads, processes and transfers; a restore reads from the repository and writes to its target. */
function Figures({ task, restore }: { task: TaskDto; restore: boolean }) {
  const figures: [string, number][] = restore
    ? [
        ['Written', task.bytesWritten],
        ['Transferred', task.bytesTransferred],
      ]
    : [
        ['Processed', task.bytesProcessed],
        ['Transferred', task.bytesTransferred],
      ];
  return (
    <dl className="grid grid-cols-4 gap-x-4 text-xs text-slate-600">
      <div>
        <dt className="inline">Read </dt>
        <dd className="inline font-medium" data-testid="read">
          {bytes(task.bytesRead)}
        </dd>
      </div>
      {figures.map(([label, n]) => (
        <div key={label}>
          <dt className="inline">{label} </dt>
          <dd className="inline font-medium">{bytes(n)}</dd>
        </div>
      ))}
      <div>
        {task.status === 'running' && task.rate > 0
          ? `${bytes(task.rate)}/s${task.etaSeconds !== null ? `, ${duration(task.etaSeconds * 1000)} left` : ''}`
          : ''}
        {task.status === 'running' && task.silentSeconds !== null && task.silentSeconds > SILENT_AFTER_SECONDS && (
          <span className="ml-2 text-amber-700" data-testid="silent">
            no figures for {task.silentSeconds} s
          </span>
        )}
      </div>
    </dl>
  );
}

/** The session page: live over server-sent events until the session ends. */
export function SessionLive({
  initial,
  initialLogs,
  canStop,
  canRetry,
  retryOf,
  restore,
}: {
  initial: SessionDto;
  initialLogs: Log[];
  canStop: boolean;
  canRetry: boolean;
  retryOf: RetryOf;
  /** A restore session's request and instant recovery; null for other kinds. */
  restore: RestoreOfSession | null;
}) {
  const router = useRouter();
  const [session, setSession] = useState(initial);
  const [logs, setLogs] = useState(initialLogs);
  const [done, setDone] = useState<string | null>(null);
  const { run, busy, error } = useMutation();

  useEffect(() => {
    if (initial.endedAt) return;
    const source = new EventSource(`/api/v1/sessions/${initial.id}/events`);
    source.addEventListener('session', (e) => setSession(JSON.parse((e as MessageEvent<string>).data) as SessionDto));
    source.addEventListener('log', (e) => {
      const lines = JSON.parse((e as MessageEvent<string>).data) as Log[];
      setLogs((old) => [...old, ...lines.filter((l) => !old.some((o) => o.id === l.id))]);
    });
    source.addEventListener('end', () => source.close());
    return () => source.close();
  }, [initial.id, initial.endedAt]);

  async function stop() {
    setDone(null);
    if ((await run(() => api('POST', `/sessions/${session.id}/stop`))).ok) setDone('Stopping…');
  }

  // The retry is a new session, made before the answer: follow it there.
  async function retry() {
    setDone(null);
    const result = await run(() => api<{ sessionId: string; vms: number }>('POST', `/sessions/${session.id}/retry`));
    if (!result.ok) return;
    setDone('Retry started.');
    router.push(`/sessions/${result.value.sessionId}`);
  }

  const message = error?.text ?? done;
  const bottleneck = session.tasks.find((t) => t.status === 'running' && t.bottleneck)?.bottleneck ?? session.tasks.find((t) => t.bottleneck)?.bottleneck;
  // A restore's tasks are the disks it writes, all to one target: grouped under it.
  const restoreHeading = restore ? (restore.restore.newVmName ?? restore.restore.targetVm?.name ?? restore.restore.pool?.name ?? 'Disks') : null;
  const group = (t: TaskDto) => restoreHeading ?? groupOf(t);
  const vms = [...new Set(session.tasks.map(group))];
  return (
    <div data-testid="session">
      <header className="mb-4 flex items-center gap-4">
        <h1 className="text-2xl font-semibold">{session.name}</h1>
        <StatusBadge status={session.status} />
        <span className="text-sm text-slate-500">
          started {new Date(session.startedAt).toLocaleString()} by {session.triggeredBy}, {duration(session.durationMs)}
        </span>
        <span className="ml-auto space-x-3">
          {canStop && !session.endedAt && !session.stopRequested && (
            <button type="button" className="rounded bg-red-700 px-3 py-1 text-white disabled:opacity-50" disabled={busy} onClick={() => void stop()}>
              Stop
            </button>
          )}
          {canRetry && session.endedAt && session.tasks.some((t) => ['failed', 'cancelled', 'interrupted'].includes(t.status)) && (
            <button type="button" className="rounded bg-sky-700 px-3 py-1 text-white disabled:opacity-50" disabled={busy} onClick={() => void retry()}>
              Retry failed VMs
            </button>
          )}
        </span>
      </header>
      {session.retryOfSessionId && (
        <p className="mb-3 text-sm text-slate-600" data-testid="retry-of">
          Retry of{' '}
          <Link href={`/sessions/${session.retryOfSessionId}`} className="text-sky-700 underline">
            {retryOf ? `${retryOf.name}, started ${new Date(retryOf.startedAt).toLocaleString()}` : 'the earlier session'}
          </Link>
        </p>
      )}
      {message && (
        <p role="status" className="mb-3 rounded bg-slate-100 px-3 py-2 text-sm">
          {message}
        </p>
      )}
      {restore && <RestoreFacts restore={restore} summary={session.summary} />}
      <section className="mb-6 grid grid-cols-5 gap-3 rounded-lg border border-slate-200 bg-white p-4 text-sm">
        <div className="col-span-5">
          <ProgressBar percent={session.percent} label="session progress" />
          <span data-testid="session-percent" className="text-xs text-slate-500">
            {session.percent}%
          </span>
        </div>
        <div>
          Read <b>{bytes(session.bytesRead)}</b>
        </div>
        <div>
          {restore ? 'Written' : 'Processed'} <b>{bytes(restore ? session.bytesWritten : session.bytesProcessed)}</b>
        </div>
        <div>
          Transferred <b>{bytes(session.bytesTransferred)}</b>
        </div>
        <div>
          Bottleneck <b data-testid="bottleneck">{bottleneck ? (BOTTLENECK[bottleneck] ?? bottleneck) : '—'}</b>
        </div>
        <div>
          {restore ? (restore.restore.kind === 'files' ? 'Files' : 'Disks') : 'VMs'}{' '}
          <b>
            {restore
              ? restore.restore.kind === 'files'
                ? ((restore.restore.request as { paths?: unknown[] }).paths?.length ?? 0)
                : session.tasks.length
              : vms.length}
          </b>
        </div>
        <div className="col-span-5">
          <ThroughputChart points={session.throughput} startedAt={session.startedAt} />
        </div>
      </section>
      <section className="mb-6 space-y-3">
        {vms.map((vm) => (
          <div key={vm} className="rounded-lg border border-slate-200 bg-white p-4" data-testid={`vm-${vm}`}>
            <h2 className="mb-2 font-medium">{vm}</h2>
            {session.tasks
              .filter((t) => group(t) === vm)
              .map((t) => (
                <div key={t.id} className="mb-3" data-testid={`task-${vm}-${t.diskName ?? t.unit}`}>
                  <div className="mb-1 flex items-center gap-3 text-sm">
                    <span className="w-16 font-mono">{t.diskName}</span>
                    {/* A VM's disks hold its slot together, but run one after another; maintenance has no disks to wait for. */}
                    <StatusBadge status={session.kind === 'backup' && t.status === 'running' && !t.readMode ? 'pending' : t.status} />
                    <span className="text-slate-500">{t.readMode === 'changed' ? 'changed blocks only' : t.readMode === 'allocated' ? 'whole disk' : ''}</span>
                    <span className="text-slate-500">
                      {t.mover ? `on ${t.mover}` : ''}
                      {t.attempt > 1 ? `, attempt ${t.attempt}` : ''}
                      {t.status === 'pending' && t.notBefore ? `, retry at ${new Date(t.notBefore).toLocaleTimeString()}` : ''}
                    </span>
                    <span className="ml-auto text-xs" data-testid="percent">
                      {t.percent}%
                    </span>
                  </div>
                  <ProgressBar percent={t.percent} label={t.diskName ? `${vm} ${t.diskName}` : vm} />
                  <Figures task={t} restore={restore !== null} />
                  {t.error && <p className="mt-1 text-xs text-red-700">{t.error}</p>}
                </div>
              ))}
          </div>
        ))}
      </section>
      <section className="rounded-lg border border-slate-200 bg-white p-4">
        <h2 className="mb-2 font-medium">Log</h2>
        <ol className="max-h-96 space-y-1 overflow-auto font-mono text-xs" data-testid="log">
          {logs.map((l) => (
            <li key={l.id} className={l.level === 'error' ? 'text-red-700' : l.level === 'warning' ? 'text-amber-700' : 'text-slate-700'}>
              {new Date(l.time).toLocaleTimeString()} {l.message}
            </li>
          ))}
        </ol>
      </section>
    </div>
  );
}
