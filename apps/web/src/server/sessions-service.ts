import { throughputSeries } from '@strongbox/core';
import { Runs, type PrismaClient, type RunSession, type RunTask } from '@strongbox/db';

type Session = Omit<RunSession, 'tasks'> & { tasks: RunTask[] };
type Task = RunTask;

const num = (n: bigint) => Number(n);
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toTaskDto(t: Task, now = new Date()) {
  const progress = t.progress;
  const total = progress?.totalBytes ?? num(t.bytesTotal);
  const done = ['success', 'warning'].includes(t.status);
  return {
    id: t.id,
    unit: t.unit,
    vmId: t.vmId,
    vmName: t.vm?.name ?? null,
    diskName: t.diskName,
    mover: t.mover?.name ?? null,
    status: t.status,
    attempt: t.attempt,
    readMode: t.readMode,
    bytesTotal: total,
    bytesRead: num(t.bytesRead),
    bytesProcessed: num(t.bytesProcessed),
    bytesTransferred: num(t.bytesTransferred),
    bytesWritten: num(t.bytesWritten),
    /** 0–100: bytes read of the bytes this run reads (a finished task is 100). */
    percent: done ? 100 : total > 0 ? Math.min(100, Math.floor((num(t.bytesRead) / total) * 100)) : 0,
    rate: progress?.rate ?? 0,
    etaSeconds: progress?.etaSeconds ?? null,
    busy: progress?.busy ?? null,
    bottleneck: progress?.bottleneck ?? null,
    error: t.error,
    startedAt: iso(t.startedAt),
    endedAt: iso(t.endedAt),
    notBefore: iso(t.notBefore),
    /** Seconds since a disk being read last sent figures (the session page flags a long silence); null when none is being read. */
    silentSeconds:
      t.status === 'running' && !t.endedAt && t.lastProgressAt ? Math.max(0, Math.round((now.getTime() - t.lastProgressAt.getTime()) / 1000)) : null,
  };
}

export function toSessionDto(s: Session, now = new Date()) {
  const tasks = s.tasks.map((t) => toTaskDto(t, now));
  const total = tasks.reduce((n, t) => n + t.bytesTotal, 0);
  const read = tasks.reduce((n, t) => n + (t.percent === 100 ? t.bytesTotal : t.bytesRead), 0);
  return {
    id: s.id,
    kind: s.kind,
    jobId: s.jobId,
    retryOfSessionId: s.retryOfSessionId,
    name: s.name,
    status: s.status,
    triggeredBy: s.triggeredBy,
    startedAt: s.startedAt.toISOString(),
    endedAt: iso(s.endedAt),
    durationMs: (s.endedAt ?? now).getTime() - s.startedAt.getTime(),
    stopRequested: s.stopRequested,
    summary: s.summary,
    percent: tasks.length === 0 ? (s.endedAt ? 100 : 0) : Math.floor(total > 0 ? (read / total) * 100 : 0),
    bytesRead: tasks.reduce((n, t) => n + t.bytesRead, 0),
    bytesProcessed: tasks.reduce((n, t) => n + t.bytesProcessed, 0),
    bytesTransferred: tasks.reduce((n, t) => n + t.bytesTransferred, 0),
    bytesWritten: tasks.reduce((n, t) => n + t.bytesWritten, 0),
    tasks,
  };
}

/** One session for its page: the list's figures plus its read rate over time (bytes/s), for the chart. */
export async function sessionDetail(db: PrismaClient, id: string, now = new Date()) {
  const row = await new Runs(db).get(id);
  const samples = row.tasks.map((t) => t.progress?.history ?? []);
  return { ...toSessionDto(row, now), throughput: throughputSeries(samples, row.startedAt.getTime(), (row.endedAt ?? now).getTime()) };
}

export function toLogDto(r: { id: bigint; taskId: string | null; time: Date; level: string; message: string }) {
  return { id: r.id.toString(), taskId: r.taskId, time: r.time.toISOString(), level: r.level, message: r.message };
}

export type SessionDto = Awaited<ReturnType<typeof sessionDetail>>;
export type TaskDto = ReturnType<typeof toTaskDto>;
