'use client';

import { useEffect, useState } from 'react';
import { api } from '@/components/api-client';
import { bytes, duration } from '@/components/format';
import { ProgressBar, StatusBadge } from '@/components/status-badge';
import { ThroughputChart } from '@/components/throughput-chart';
import type { SessionDto, TaskDto, toLogDto } from '@/server/sessions-service';

type Log = ReturnType<typeof toLogDto>;

const BOTTLENECK: Record<string, string> = { source: 'Source', proxy: 'Proxy', network: 'Network', target: 'Target', throttling: 'Throttling' };

function Figures({ task }: { task: TaskDto }) {
  return (
    <dl className="grid grid-cols-4 gap-x-4 text-xs text-slate-600">
      <div>
        <dt className="inline">Read </dt>
        <dd className="inline font-medium" data-testid="read">
          {bytes(task.bytesRead)}
        </dd>
      </div>
      <div>
        <dt className="inline">Processed </dt>
        <dd className="inline font-medium">{bytes(task.bytesProcessed)}</dd>
      </div>
      <div>
        <dt className="inline">Transferred </dt>
        <dd className="inline font-medium">{bytes(task.bytesTransferred)}</dd>
      </div>
      <div>
        {task.status === 'running' && task.rate > 0
          ? `${bytes(task.rate)}/s${task.etaSeconds !== null ? `, ${duration(task.etaSeconds * 1000)} left` : ''}`
          : ''}
      </div>
    </dl>
  );
}

/** The session page: live over server-sent events until the session ends. */
export function SessionLive({ initial, initialLogs, canRun }: { initial: SessionDto; initialLogs: Log[]; canRun: boolean }) {
  const [session, setSession] = useState(initial);
  const [logs, setLogs] = useState(initialLogs);
  const [message, setMessage] = useState<string | null>(null);

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

  async function act(path: string, done: string) {
    try {
      await api('POST', path);
      setMessage(done);
    } catch (e) {
      setMessage(e instanceof Error ? e.message : String(e));
    }
  }

  const bottleneck = session.tasks.find((t) => t.status === 'running' && t.bottleneck)?.bottleneck ?? session.tasks.find((t) => t.bottleneck)?.bottleneck;
  const vms = [...new Set(session.tasks.map((t) => t.vmName ?? '?'))];
  return (
    <div data-testid="session">
      <header className="mb-4 flex items-center gap-4">
        <h1 className="text-2xl font-semibold">{session.name}</h1>
        <StatusBadge status={session.status} />
        <span className="text-sm text-slate-500">
          started {new Date(session.startedAt).toLocaleString()} by {session.triggeredBy}, {duration(session.durationMs)}
        </span>
        <span className="ml-auto space-x-3">
          {canRun && !session.endedAt && !session.stopRequested && (
            <button type="button" className="rounded bg-red-700 px-3 py-1 text-white" onClick={() => act(`/sessions/${session.id}/stop`, 'Stopping…')}>
              Stop
            </button>
          )}
          {canRun && session.endedAt && session.tasks.some((t) => ['failed', 'cancelled', 'interrupted'].includes(t.status)) && (
            <button type="button" className="rounded bg-sky-700 px-3 py-1 text-white" onClick={() => act(`/sessions/${session.id}/retry`, 'Retry queued.')}>
              Retry failed VMs
            </button>
          )}
        </span>
      </header>
      {message && (
        <p role="status" className="mb-3 rounded bg-slate-100 px-3 py-2 text-sm">
          {message}
        </p>
      )}
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
          Processed <b>{bytes(session.bytesProcessed)}</b>
        </div>
        <div>
          Transferred <b>{bytes(session.bytesTransferred)}</b>
        </div>
        <div>
          Bottleneck <b data-testid="bottleneck">{bottleneck ? (BOTTLENECK[bottleneck] ?? bottleneck) : '—'}</b>
        </div>
        <div>
          VMs <b>{vms.length}</b>
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
              .filter((t) => (t.vmName ?? '?') === vm)
              .map((t) => (
                <div key={t.id} className="mb-3" data-testid={`task-${vm}-${t.diskName}`}>
                  <div className="mb-1 flex items-center gap-3 text-sm">
                    <span className="w-16 font-mono">{t.diskName}</span>
                    {/* A VM's disks hold its slot together, but run one after another. */}
                    <StatusBadge status={t.status === 'running' && !t.readMode ? 'pending' : t.status} />
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
                  <ProgressBar percent={t.percent} label={`${vm} ${t.diskName}`} />
                  <Figures task={t} />
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
