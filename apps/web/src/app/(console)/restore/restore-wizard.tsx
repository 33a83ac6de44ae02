'use client';

import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { api, type FieldError } from '@/components/api-client';
import { useMutation } from '@/components/use-mutation';
import { WizardProgress } from '@/components/wizard-progress';
import type { ChosenPoint, RestoreChoices } from './restore-data';
import {
  emptyDraft,
  POINT_STEP,
  requestOf,
  STEPS,
  stepOfField,
  SUMMARY_STEP,
  TARGET_STEP,
  targetComplete,
  targetConnection,
  WHAT_STEP,
  withVm,
  withWhat,
  type Draft,
} from './restore-draft';
import { PointStep, SummaryStep, WhatStep } from './restore-steps';
import { DisksTarget, InstantTarget, usePools, VmTarget } from './restore-targets';

/** Fields some step shows next to its control; an error about any other is listed at the top. */
const SHOWN = new Set([
  'pointId',
  'kind',
  'name',
  'connectionId',
  'hostId',
  'pool',
  'format',
  'confirmOverwrite',
  'disks',
  'to.connectionId',
  'to.pool',
  'to.format',
  'to.vmId',
  'to.confirmOverwrite',
  'quickRollback',
  'powerOn',
  'networks',
]);

/**
 * The restore wizard: a point (found by its VM's name), what to restore, where to, a
 * summary; Start posts the request and follows its session. The API's refusals name a
 * field: the wizard goes back to the step that shows it and says why beside it.
 */
export function RestoreWizard({ choices, initial }: { choices: RestoreChoices; initial: ChosenPoint | null }) {
  const router = useRouter();
  const [draft, setDraft] = useState<Draft>(() => (initial ? withVm(emptyDraft(choices), initial.vm, initial.points, initial.point) : emptyDraft(choices)));
  const [step, setStep] = useState(initial ? WHAT_STEP : POINT_STEP);
  const [fieldErrors, setFieldErrors] = useState<FieldError[]>([]);
  const { run, busy, error } = useMutation();
  const update = (change: Partial<Draft>) => setDraft((d) => ({ ...d, ...change }));
  const pools = usePools(targetConnection(draft, choices));

  async function start() {
    const request = requestOf(draft);
    if (!request) return;
    setFieldErrors([]);
    const result = await run(() => api<{ sessionId: string }>('POST', '/restores', request));
    if (result.ok) {
      router.push(`/sessions/${result.value.sessionId}`);
      return;
    }
    const fields = result.error.fields;
    setFieldErrors(fields);
    if (fields.length > 0) setStep(Math.min(...fields.map((f) => stepOfField(f.field))));
  }

  const elsewhere = fieldErrors.filter((f) => !SHOWN.has(f.field));
  const canNext = step === POINT_STEP ? draft.point !== null : step === WHAT_STEP ? draft.what !== null : step === TARGET_STEP ? targetComplete(draft) : false;
  const poolFree = pools.pools?.find((p) => p.name === draft.pool)?.availableBytes ?? null;
  const props = { draft, update, choices, errors: fieldErrors };
  return (
    <div className="max-w-4xl" data-testid="restore-wizard">
      <WizardProgress steps={STEPS} current={step} />
      {error && (
        <div role="alert" className="mb-4 rounded bg-red-50 p-3 text-sm text-red-700">
          The restore was not started: {fieldErrors.length > 0 && elsewhere.length === 0 ? 'see the field marked below.' : error.text}
          {elsewhere.length > 0 && (
            <ul>
              {elsewhere.map((f) => (
                <li key={f.field}>
                  {f.field}: {f.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <section className="rounded-lg border border-slate-200 bg-white p-6" data-testid={`restore-step-${step}`}>
        {step === POINT_STEP && (
          <PointStep
            draft={draft}
            errors={fieldErrors}
            onVm={(vm, points) => setDraft((d) => withVm(d, vm, points))}
            onPoint={(point) => setDraft((d) => ({ ...d, point, what: null }))}
          />
        )}
        {step === WHAT_STEP && <WhatStep draft={draft} errors={fieldErrors} onWhat={(what) => setDraft((d) => withWhat(d, what))} />}
        {step === TARGET_STEP && draft.what === 'vm' && <VmTarget {...props} pools={pools} />}
        {step === TARGET_STEP && draft.what === 'disks' && <DisksTarget {...props} pools={pools} />}
        {step === TARGET_STEP && draft.what === 'instant' && <InstantTarget {...props} />}
        {step === SUMMARY_STEP && <SummaryStep draft={draft} choices={choices} poolFree={poolFree} />}
      </section>
      <div className="mt-4 flex gap-2">
        {step > POINT_STEP && (
          <button type="button" onClick={() => setStep(step - 1)} className="rounded px-4 py-2" data-testid="restore-back">
            Back
          </button>
        )}
        {step < SUMMARY_STEP ? (
          <button
            type="button"
            disabled={!canNext}
            onClick={() => setStep(step + 1)}
            className="rounded bg-sky-700 px-4 py-2 text-white disabled:opacity-50"
            data-testid="restore-next"
          >
            Next
          </button>
        ) : (
          <button
            type="button"
            disabled={busy}
            onClick={() => void start()}
            className="rounded bg-sky-700 px-4 py-2 text-white disabled:opacity-50"
            data-testid="restore-start"
          >
            {busy ? 'Starting…' : 'Start restore'}
          </button>
        )}
      </div>
    </div>
  );
}
