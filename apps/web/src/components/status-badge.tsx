import { STATUS_STYLE } from './format';

export function StatusBadge({ status }: { status: string }) {
  return (
    <span data-status={status} className={`rounded px-2 py-0.5 text-xs font-medium ${STATUS_STYLE[status] ?? ''}`}>
      {status}
    </span>
  );
}

export function ProgressBar({ percent, label }: { percent: number; label: string }) {
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuenow={percent}
      aria-valuemin={0}
      aria-valuemax={100}
      className="h-2 w-full overflow-hidden rounded bg-slate-200"
    >
      <div className="h-full bg-sky-600 transition-[width] duration-700" style={{ width: `${percent}%` }} />
    </div>
  );
}
