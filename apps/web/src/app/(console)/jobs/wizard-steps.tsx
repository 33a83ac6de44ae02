'use client';

import { useState } from 'react';
import { BLOCK_SIZES_KIB, describeSchedule, matchesPattern, type Schedule } from '@strongbox/core';
import type { Draft } from './job-wizard';
import type { WizardChoices } from './wizard-data';

type StepProps = { draft: Draft; update: (change: Partial<Draft>) => void };
const input = 'mt-1 w-full rounded border border-slate-300 px-2 py-1';
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export function ObjectsStep({ draft, update, choices }: StepProps & { choices: WizardChoices }) {
  const [pattern, setPattern] = useState('');
  const vms = choices.vms.filter((vm) => vm.connectionId === draft.connectionId);
  const hosts = choices.hosts.filter((h) => h.connectionId === draft.connectionId);
  const hasVm = (id: string) => draft.objects.some((o) => o.type === 'vm' && o.vmId === id);
  const toggleVm = (id: string) =>
    update({ objects: hasVm(id) ? draft.objects.filter((o) => !(o.type === 'vm' && o.vmId === id)) : [...draft.objects, { type: 'vm', vmId: id }] });
  const hasHost = (id: string) => draft.objects.some((o) => o.type === 'host' && o.hostId === id);
  const toggleHost = (id: string) =>
    update({ objects: hasHost(id) ? draft.objects.filter((o) => !(o.type === 'host' && o.hostId === id)) : [...draft.objects, { type: 'host', hostId: id }] });
  if (choices.connections.length === 0) return <p className="text-slate-500">Add a hypervisor connection in Infrastructure first.</p>;
  return (
    <div className="space-y-4">
      <label className="block text-sm">
        Hypervisor connection
        <select value={draft.connectionId} onChange={(e) => update({ connectionId: e.target.value, objects: [] })} className={input}>
          {choices.connections.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      <fieldset>
        <legend className="text-sm font-medium">Virtual machines, one by one</legend>
        <div className="mt-1 max-h-64 overflow-auto rounded border border-slate-200">
          {vms.map((vm) => (
            <label key={vm.id} className="flex items-center gap-2 border-b border-slate-100 px-3 py-1 text-sm">
              <input type="checkbox" checked={hasVm(vm.id)} onChange={() => toggleVm(vm.id)} aria-label={`Back up ${vm.name}`} />
              {vm.name}{' '}
              <span className="text-slate-400">
                {vm.disks.length} disk(s), {vm.powerState}
              </span>
            </label>
          ))}
          {vms.length === 0 && <p className="p-3 text-sm text-slate-500">No VMs on this connection.</p>}
        </div>
      </fieldset>
      {hosts.length > 0 && (
        <fieldset>
          <legend className="text-sm font-medium">Every VM of a host (resolved at each run)</legend>
          {hosts.map((h) => (
            <label key={h.id} className="mr-4 text-sm">
              <input type="checkbox" checked={hasHost(h.id)} onChange={() => toggleHost(h.id)} /> {h.name}
            </label>
          ))}
        </fieldset>
      )}
      <div>
        <label className="block text-sm">
          VMs whose name matches a pattern (* and ?, resolved at each run)
          <div className="flex gap-2">
            <input value={pattern} onChange={(e) => setPattern(e.target.value)} placeholder="web-*" className={input} aria-label="Name pattern" />
            <button
              type="button"
              className="mt-1 rounded bg-slate-700 px-3 text-white"
              disabled={!pattern.trim()}
              onClick={() => {
                update({ objects: [...draft.objects, { type: 'pattern', pattern: pattern.trim() }] });
                setPattern('');
              }}
            >
              Add
            </button>
          </div>
        </label>
        {pattern && (
          <p className="text-xs text-slate-500">
            Now matches:{' '}
            {vms
              .filter((v) => matchesPattern(v.name, pattern))
              .map((v) => v.name)
              .join(', ') || 'nothing'}
          </p>
        )}
        <ul className="mt-2 text-sm">
          {draft.objects.flatMap((o, i) =>
            o.type === 'pattern'
              ? [
                  <li key={`p${i}`}>
                    pattern <code>{o.pattern}</code>{' '}
                    <button type="button" className="text-red-700 underline" onClick={() => update({ objects: draft.objects.filter((_, j) => j !== i) })}>
                      remove
                    </button>
                  </li>,
                ]
              : [],
          )}
        </ul>
      </div>
      <p className="text-sm text-slate-600" data-testid="objects-count">
        {draft.objects.length} object(s) chosen
      </p>
    </div>
  );
}

export function RetentionStep({ draft, update }: StepProps) {
  const r = draft.retention;
  const gfs = { weekly: 0, monthly: 0, yearly: 0, ...r.gfs };
  const num = (v: string) => (v === '' ? undefined : Number(v));
  return (
    <fieldset className="grid grid-cols-2 gap-3">
      <legend className="mb-2 text-sm font-medium">Retention</legend>
      <label className="text-sm">
        Keep restore points
        <input
          type="number"
          min={1}
          value={r.keepPoints ?? ''}
          onChange={(e) => update({ retention: { ...r, keepPoints: num(e.target.value) } })}
          className={input}
        />
      </label>
      <label className="text-sm">
        Keep days
        <input
          type="number"
          min={1}
          value={r.keepDays ?? ''}
          onChange={(e) => update({ retention: { ...r, keepDays: num(e.target.value) } })}
          className={input}
        />
      </label>
      {(['weekly', 'monthly', 'yearly'] as const).map((k) => (
        <label key={k} className="text-sm">
          GFS {k} fulls to keep
          <input
            type="number"
            min={0}
            value={gfs[k]}
            onChange={(e) => update({ retention: { ...r, gfs: { ...gfs, [k]: Number(e.target.value) } } })}
            className={input}
          />
        </label>
      ))}
    </fieldset>
  );
}

export function OptionsStep({ draft, update }: StepProps) {
  const o = draft.options;
  const set = (change: Partial<typeof o>) => update({ options: { ...o, ...change } });
  const full = o.activeFull ?? { kind: 'never' as const };
  return (
    <div className="grid grid-cols-2 gap-3">
      <label className="text-sm">
        Block size
        <select value={o.blockSizeKiB ?? 1024} onChange={(e) => set({ blockSizeKiB: Number(e.target.value) as 256 | 512 | 1024 | 4096 })} className={input}>
          {BLOCK_SIZES_KIB.map((b) => (
            <option key={b} value={b}>
              {b >= 1024 ? `${b / 1024} MiB` : `${b} KiB`}
              {b === 1024 ? ' (default)' : ''}
            </option>
          ))}
        </select>
      </label>
      <label className="text-sm">
        Compression
        <select
          value={o.compression ?? 'optimal'}
          onChange={(e) => set({ compression: e.target.value as 'none' | 'fast' | 'optimal' | 'high' })}
          className={input}
        >
          <option value="none">None</option>
          <option value="fast">Fast</option>
          <option value="optimal">Optimal</option>
          <option value="high">High</option>
        </select>
      </label>
      <label className="col-span-2 text-sm">
        <input type="checkbox" checked={o.applicationAware ?? true} onChange={(e) => set({ applicationAware: e.target.checked })} /> Application-aware
        processing (freeze file systems through qemu-guest-agent)
      </label>
      <label className="col-span-2 text-sm">
        <input type="checkbox" checked={o.requireSuccessfulProcessing ?? false} onChange={(e) => set({ requireSuccessfulProcessing: e.target.checked })} />{' '}
        Require successful processing (fail the VM instead of a crash-consistent backup)
      </label>
      <label className="col-span-2 text-sm">
        <input
          type="checkbox"
          checked={o.indexGuestFiles ?? false}
          onChange={(e) => set({ indexGuestFiles: e.target.checked })}
          data-testid="job-index-guest-files"
        />{' '}
        Index guest files (list every file of each new restore point, for Restore → Search guest files)
      </label>
      <label className="text-sm">
        Active full backup
        <select
          value={full.kind}
          onChange={(e) =>
            set({
              activeFull:
                e.target.value === 'weekly' ? { kind: 'weekly', weekday: 6 } : e.target.value === 'monthly' ? { kind: 'monthly', day: 1 } : { kind: 'never' },
            })
          }
          className={input}
        >
          <option value="never">Never (forever incremental)</option>
          <option value="weekly">Weekly</option>
          <option value="monthly">Monthly</option>
        </select>
      </label>
      {full.kind === 'weekly' && (
        <label className="text-sm">
          On
          <select value={full.weekday} onChange={(e) => set({ activeFull: { kind: 'weekly', weekday: Number(e.target.value) } })} className={input}>
            {DAYS.map((d, i) => (
              <option key={d} value={i}>
                {d}
              </option>
            ))}
          </select>
        </label>
      )}
      {full.kind === 'monthly' && (
        <label className="text-sm">
          On day
          <input
            type="number"
            min={1}
            max={31}
            value={full.day === 'last' ? 31 : full.day}
            onChange={(e) => set({ activeFull: { kind: 'monthly', day: Number(e.target.value) } })}
            className={input}
          />
        </label>
      )}
      <NotifyFields notify={o.notify} set={(notify) => set({ notify })} />
    </div>
  );
}

type Notify = NonNullable<Draft['options']['notify']>;
/** The job schema's defaults, for a draft that has not set them. */
const notifyOf = (notify: Notify | undefined) => ({ onSuccess: true, onWarning: true, onFailure: true, to: [] as string[], ...notify });

function describeNotify(notify: Notify | undefined): string {
  const n = notifyOf(notify);
  const on = [n.onSuccess && 'success', n.onWarning && 'warning', n.onFailure && 'failure'].filter(Boolean);
  if (on.length === 0) return 'never';
  return `on ${on.join(', ')}${n.to.length ? `, also to ${n.to.join(', ')}` : ''}`;
}

function NotifyFields({ notify, set }: { notify: Notify | undefined; set: (n: Notify) => void }) {
  const n = notifyOf(notify);
  const results = [
    ['onSuccess', 'success'],
    ['onWarning', 'warning'],
    ['onFailure', 'failure'],
  ] as const;
  return (
    <fieldset className="col-span-2 rounded border border-slate-200 p-3 text-sm">
      <legend className="px-1 font-medium">Email after each run (SMTP in Settings → Email)</legend>
      {results.map(([key, word]) => (
        <label key={key} className="mr-4">
          <input type="checkbox" checked={n[key]} onChange={(e) => set({ ...n, [key]: e.target.checked })} /> on {word}
        </label>
      ))}
      <label className="mt-2 block">
        Also send to (comma-separated, besides the global recipients)
        <input
          defaultValue={n.to.join(', ')}
          onBlur={(e) =>
            set({
              ...n,
              to: e.target.value
                .split(',')
                .map((t) => t.trim())
                .filter(Boolean),
            })
          }
          className={input}
          aria-label="Job email recipients"
        />
      </label>
    </fieldset>
  );
}

export function ScheduleStep({ draft, update, choices, selfId }: StepProps & { choices: WizardChoices; selfId: string | undefined }) {
  const s = draft.schedule;
  const setSchedule = (schedule: Schedule) => update({ schedule });
  const kinds: Record<Schedule['kind'], Schedule> = {
    manual: { kind: 'manual' },
    daily: { kind: 'daily', times: ['22:00'], weekdays: [1, 2, 3, 4, 5] },
    monthly: { kind: 'monthly', time: '22:00', day: 'last' },
    periodic: { kind: 'periodic', everyHours: 4 },
    after: { kind: 'after', jobId: choices.jobs.find((j) => j.id !== selfId)?.id ?? '' },
  };
  return (
    <div className="space-y-3">
      <label className="block text-sm">
        Run the job
        <select value={s.kind} onChange={(e) => setSchedule(kinds[e.target.value as Schedule['kind']])} className={input} aria-label="Run the job">
          <option value="daily">Daily at this time</option>
          <option value="monthly">Monthly</option>
          <option value="periodic">Periodically</option>
          <option value="after">After this job</option>
          <option value="manual">Only when started</option>
        </select>
      </label>
      {s.kind === 'daily' && (
        <>
          <label className="block text-sm">
            At (HH:MM, comma-separated)
            <input
              defaultValue={s.times.join(', ')}
              onBlur={(e) =>
                setSchedule({
                  ...s,
                  times: e.target.value
                    .split(',')
                    .map((t) => t.trim())
                    .filter(Boolean),
                })
              }
              className={input}
              aria-label="Times"
            />
          </label>
          <fieldset className="text-sm">
            <legend>On</legend>
            {DAYS.map((d, i) => (
              <label key={d} className="mr-3">
                <input
                  type="checkbox"
                  checked={s.weekdays.includes(i)}
                  onChange={() => setSchedule({ ...s, weekdays: s.weekdays.includes(i) ? s.weekdays.filter((x) => x !== i) : [...s.weekdays, i].sort() })}
                />{' '}
                {d}
              </label>
            ))}
          </fieldset>
        </>
      )}
      {s.kind === 'monthly' && (
        <div className="grid grid-cols-2 gap-3">
          <label className="text-sm">
            At
            <input defaultValue={s.time} onBlur={(e) => setSchedule({ ...s, time: e.target.value.trim() })} className={input} />
          </label>
          <label className="text-sm">
            On day (1–31 or last)
            <input
              defaultValue={String(s.day)}
              onBlur={(e) => setSchedule({ ...s, day: e.target.value === 'last' ? 'last' : Number(e.target.value) })}
              className={input}
            />
          </label>
        </div>
      )}
      {s.kind === 'periodic' && (
        <label className="block text-sm">
          Every (hours)
          <input
            type="number"
            min={1}
            max={168}
            value={s.everyHours}
            onChange={(e) => setSchedule({ ...s, everyHours: Number(e.target.value) })}
            className={input}
          />
        </label>
      )}
      {s.kind === 'after' && (
        <label className="block text-sm">
          After
          <select value={s.jobId} onChange={(e) => setSchedule({ kind: 'after', jobId: e.target.value })} className={input}>
            {choices.jobs
              .filter((j) => j.id !== selfId)
              .map((j) => (
                <option key={j.id} value={j.id}>
                  {j.name}
                </option>
              ))}
          </select>
        </label>
      )}
      <div className="grid grid-cols-3 gap-3">
        <label className="text-sm">
          Time zone
          <input value={draft.timeZone ?? 'UTC'} onChange={(e) => update({ timeZone: e.target.value })} className={input} />
        </label>
        <label className="text-sm">
          Retry failed VMs (times)
          <input
            type="number"
            min={0}
            max={10}
            value={draft.retries.count ?? 3}
            onChange={(e) => update({ retries: { ...draft.retries, count: Number(e.target.value) } })}
            className={input}
          />
        </label>
        <label className="text-sm">
          Wait before retry (min)
          <input
            type="number"
            min={1}
            value={draft.retries.waitMinutes ?? 10}
            onChange={(e) => update({ retries: { ...draft.retries, waitMinutes: Number(e.target.value) } })}
            className={input}
          />
        </label>
      </div>
      <label className="block text-sm">
        <input
          type="checkbox"
          checked={draft.window !== null && draft.window !== undefined}
          onChange={(e) =>
            update({ window: e.target.checked ? { allowed: Array.from({ length: 7 }, () => Array.from({ length: 24 }, (_, h) => h >= 18 || h < 6)) } : null })
          }
        />{' '}
        Start only within a backup window (18:00–06:00)
      </label>
    </div>
  );
}

export function SummaryStep({ draft, choices }: { draft: Draft; choices: WizardChoices }) {
  const name = (list: { id: string; name: string }[], id: string) => list.find((x) => x.id === id)?.name ?? id;
  const objects = draft.objects.map((o) =>
    o.type === 'vm' ? name(choices.vms, o.vmId) : o.type === 'host' ? `all VMs of ${name(choices.hosts, o.hostId)}` : `VMs matching ${o.pattern}`,
  );
  return (
    <dl className="grid grid-cols-[10rem_1fr] gap-y-2 text-sm" data-testid="job-summary">
      <dt className="text-slate-500">Name</dt>
      <dd>{draft.name}</dd>
      <dt className="text-slate-500">Connection</dt>
      <dd>{name(choices.connections, draft.connectionId)}</dd>
      <dt className="text-slate-500">Objects</dt>
      <dd>{objects.join(', ')}</dd>
      <dt className="text-slate-500">Repository</dt>
      <dd>{name(choices.repositories, draft.repositoryId)}</dd>
      <dt className="text-slate-500">Retention</dt>
      <dd>
        {draft.retention.keepPoints ? `${draft.retention.keepPoints} points` : ''}
        {draft.retention.keepDays ? ` ${draft.retention.keepDays} days` : ''}
      </dd>
      <dt className="text-slate-500">Block size</dt>
      <dd>
        {draft.options.blockSizeKiB ?? 1024} KiB, compression {draft.options.compression ?? 'optimal'}
      </dd>
      <dt className="text-slate-500">Schedule</dt>
      <dd>
        {describeSchedule(draft.schedule, (id) => choices.jobs.find((j) => j.id === id)?.name)} ({draft.timeZone})
        {draft.window ? ', within the backup window' : ''}
      </dd>
      <dt className="text-slate-500">Retries</dt>
      <dd>
        {draft.retries.count ?? 3} time(s), {draft.retries.waitMinutes ?? 10} min apart
      </dd>
      <dt className="text-slate-500">Email</dt>
      <dd>{describeNotify(draft.options.notify)}</dd>
    </dl>
  );
}
