'use client';

import { useRouter } from 'next/navigation';
import { useState } from 'react';
import type { JobObject, JobSpecInput, Schedule } from '@strongbox/core';
import { api } from '@/components/api-client';
import { useMutation } from '@/components/use-mutation';
import { WizardProgress } from '@/components/wizard-progress';
import type { JobDto } from '@/server/jobs-service';
import { ObjectsStep, OptionsStep, RetentionStep, ScheduleStep, SummaryStep } from './wizard-steps';
import type { WizardChoices } from './wizard-data';

export type Draft = Omit<JobSpecInput, 'schedule' | 'objects'> & {
  schedule: Schedule;
  objects: JobObject[];
  options: NonNullable<JobSpecInput['options']>;
  retention: NonNullable<JobSpecInput['retention']>;
  retries: NonNullable<JobSpecInput['retries']>;
};

const STEPS = ['Name', 'Virtual machines', 'Storage', 'Options', 'Schedule', 'Summary'] as const;

function initialDraft(choices: WizardChoices, job: JobDto | null): Draft {
  if (job) {
    const { id: _id, version: _v, nextRunAt: _n, createdAt: _c, updatedAt: _u, ...spec } = job;
    return spec as Draft;
  }
  return {
    name: '',
    description: '',
    enabled: true,
    connectionId: choices.connections[0]?.id ?? '',
    repositoryId: choices.repositories.find((r) => r.isDefault)?.id ?? choices.repositories[0]?.id ?? '',
    objects: [],
    options: {
      blockSizeKiB: 1024,
      compression: 'optimal',
      applicationAware: true,
      requireSuccessfulProcessing: false,
      indexGuestFiles: false,
      activeFull: { kind: 'never' },
    },
    retention: { keepPoints: 14, gfs: { weekly: 0, monthly: 0, yearly: 0 } },
    schedule: { kind: 'daily', times: ['22:00'], weekdays: [1, 2, 3, 4, 5] },
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
    window: null,
    retries: { count: 3, waitMinutes: 10 },
  };
}

export function JobWizard({ choices, initial }: { choices: WizardChoices; initial: JobDto | null }) {
  const router = useRouter();
  const [step, setStep] = useState(0);
  const [draft, setDraft] = useState<Draft>(() => initialDraft(choices, initial));
  const { run, busy, error } = useMutation();
  const update = (change: Partial<Draft>) => setDraft((d) => ({ ...d, ...change }));

  async function save() {
    const saved = await run(() => (initial ? api('PUT', `/jobs/${initial.id}`, { ...draft, version: initial.version }) : api('POST', '/jobs', draft)));
    if (!saved.ok) return;
    router.push('/jobs');
    router.refresh();
  }

  // An edit that lost the race against another save offers the stored job; a new job has no stored copy to offer.
  const conflict = Boolean(error?.conflict && initial);
  const errors = !error || conflict ? [] : error.fields.length > 0 ? error.fields : [{ field: '', message: error.text }];

  const canNext = step === 0 ? draft.name.trim().length > 0 : step === 1 ? draft.objects.length > 0 && Boolean(draft.connectionId) : true;
  return (
    <div className="max-w-3xl">
      <WizardProgress steps={STEPS} current={step} />
      {conflict && (
        <div role="alert" className="mb-4 rounded border border-amber-300 bg-amber-50 p-3 text-sm">
          Someone else saved this job after you opened it. Your changes were not saved.{' '}
          <button type="button" className="text-sky-700 underline" onClick={() => window.location.reload()}>
            Reload the job
          </button>
        </div>
      )}
      {errors.length > 0 && (
        <ul role="alert" className="mb-4 rounded bg-red-50 p-3 text-sm text-red-700">
          {errors.map((e) => (
            <li key={e.field + e.message}>
              {e.field ? `${e.field}: ` : ''}
              {e.message}
            </li>
          ))}
        </ul>
      )}
      <section className="rounded-lg border border-slate-200 bg-white p-6">
        {step === 0 && (
          <div className="space-y-3">
            <label className="block text-sm">
              Job name
              <input value={draft.name} onChange={(e) => update({ name: e.target.value })} className="mt-1 w-full rounded border border-slate-300 px-2 py-1" />
            </label>
            <label className="block text-sm">
              Description
              <textarea
                value={draft.description ?? ''}
                onChange={(e) => update({ description: e.target.value })}
                className="mt-1 w-full rounded border border-slate-300 px-2 py-1"
              />
            </label>
          </div>
        )}
        {step === 1 && <ObjectsStep draft={draft} update={update} choices={choices} />}
        {step === 2 && (
          <div className="space-y-3">
            <label className="block text-sm">
              Backup repository
              <select
                value={draft.repositoryId}
                onChange={(e) => update({ repositoryId: e.target.value })}
                className="mt-1 w-full rounded border border-slate-300 px-2 py-1"
              >
                {choices.repositories.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.name}
                  </option>
                ))}
              </select>
            </label>
            <RetentionStep draft={draft} update={update} />
          </div>
        )}
        {step === 3 && <OptionsStep draft={draft} update={update} />}
        {step === 4 && <ScheduleStep draft={draft} update={update} choices={choices} selfId={initial?.id} />}
        {step === 5 && <SummaryStep draft={draft} choices={choices} />}
      </section>
      <div className="mt-4 flex gap-2">
        {step > 0 && (
          <button type="button" onClick={() => setStep(step - 1)} className="rounded px-4 py-2">
            Back
          </button>
        )}
        {step < STEPS.length - 1 ? (
          <button type="button" disabled={!canNext} onClick={() => setStep(step + 1)} className="rounded bg-sky-700 px-4 py-2 text-white disabled:opacity-50">
            Next
          </button>
        ) : (
          <button type="button" disabled={busy} onClick={save} className="rounded bg-sky-700 px-4 py-2 text-white disabled:opacity-50">
            {initial ? 'Save job' : 'Create job'}
          </button>
        )}
      </div>
    </div>
  );
}
