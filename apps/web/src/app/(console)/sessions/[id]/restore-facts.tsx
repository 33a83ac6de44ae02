import Link from 'next/link';
import type { FileRestoreResult, RestoreResult, SessionSummary } from '@strongbox/core';
import { bytes, duration } from '@/components/format';
import type { RestoreOfSession } from '@/server/restores-service';

const isRestoreResult = (s: SessionSummary | null): s is RestoreResult => s !== null && 'restore' in s && s.restore !== 'files';
const isFileResult = (s: SessionSummary | null): s is FileRestoreResult => s !== null && 'restore' in s && s.restore === 'files';

/** A restore session's request (what, from which point, to where) and, once it ended, what it wrote. */
export function RestoreFacts({ restore: { restore, instantRecovery }, summary }: { restore: RestoreOfSession; summary: SessionSummary | null }) {
  const r = restore.request as Record<string, unknown>;
  const options = [
    r.quickRollback === true ? 'quick rollback' : r.quickRollback === false ? 'every block written' : null,
    typeof r.networks === 'string' ? `networks ${r.networks}` : null,
    r.powerOn === true ? 'powered on after' : null,
  ].filter(Boolean);
  const result = isRestoreResult(summary) ? summary : null;
  const files = isFileResult(summary) ? summary : null;
  return (
    <section className="mb-6 rounded-lg border border-slate-200 bg-white p-4 text-sm" data-testid="restore-request">
      <dl className="grid grid-cols-[9rem_1fr] gap-y-1">
        <dt className="text-slate-500">Restore</dt>
        <dd data-testid="restore-kind">{restore.kindName}</dd>
        <dt className="text-slate-500">Restore point</dt>
        <dd>
          {restore.point.vmName}, {restore.point.kind} of {new Date(restore.point.time).toLocaleString()}
        </dd>
        <dt className="text-slate-500">To</dt>
        <dd data-testid="restore-target">
          {restore.target}
          {restore.host ? `, on host ${restore.host}` : ''}
        </dd>
        {restore.disks.length > 0 && (
          <>
            <dt className="text-slate-500">Disks</dt>
            <dd>{restore.disks.map((d) => `${d.name} ${bytes(d.sizeBytes)}`).join(', ')}</dd>
          </>
        )}
        {options.length > 0 && (
          <>
            <dt className="text-slate-500">Options</dt>
            <dd>{options.join(', ')}</dd>
          </>
        )}
        {instantRecovery && (
          <>
            <dt className="text-slate-500">Instant recovery</dt>
            <dd>
              {instantRecovery.vmName} is <b>{instantRecovery.state}</b>, {bytes(instantRecovery.bytesServed)} served
              {instantRecovery.error ? ` — ${instantRecovery.error}` : ''}{' '}
              <Link href="/restore#instant" className="text-sky-700 underline">
                migrate or stop it
              </Link>
            </dd>
          </>
        )}
        {files && (
          <>
            <dt className="text-slate-500">Result</dt>
            <dd data-testid="restore-result">
              {files.target}: {files.files} file(s) ({bytes(files.bytesWritten)}), {files.folders} folder(s)
              {files.keptBoth > 0 ? `, ${files.keptBoth} kept beside the VM's own` : ''}
              {files.skipped > 0 ? `, ${files.skipped} left out` : ''}
              {files.metaNotKept > 0 ? `, ${files.metaNotKept} without their owner, mode or time` : ''} in {duration(files.durationMs)}
            </dd>
          </>
        )}
        {result && (
          <>
            <dt className="text-slate-500">Result</dt>
            <dd data-testid="restore-result">
              {result.target}: {result.blocksWritten} block(s) written, {result.blocksZeroed} zeroed, {result.blocksSkipped}{' '}
              {result.mode === 'quick' ? 'left as they were' : 'zero block(s) left unallocated'} ({bytes(result.bytesWritten)}) in {duration(result.durationMs)}
              ; {result.mode === 'quick' ? 'quick rollback' : `every block${result.why ? ` (${result.why})` : ''}`}
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}
