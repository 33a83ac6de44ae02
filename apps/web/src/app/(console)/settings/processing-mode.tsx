'use client';

import { useState } from 'react';
import { api } from '@/components/api-client';
import { useMutation } from '@/components/use-mutation';

type Processing = { mode: 'parallel' | 'sequential'; version: number };

/** Veeam's "parallel processing" switch: sequential runs one disk of a job at a time. */
export function ProcessingMode({ initial, editable }: { initial: Processing; editable: boolean }) {
  const [value, setValue] = useState(initial);
  const { run, error } = useMutation();
  const change = (mode: Processing['mode']) =>
    run(
      async () => setValue(await api<Processing>('PUT', '/settings/processing', { mode, version: value.version })),
      // The select shows the stored mode again, whoever changed it (a 409) or whatever failed.
      { onError: async () => setValue(await api<Processing>('GET', '/settings/processing')) },
    );
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4 text-sm">
      <label className="flex items-center gap-3">
        <span className="font-medium">Processing</span>
        <select
          aria-label="Processing mode"
          disabled={!editable}
          value={value.mode}
          onChange={(e) => void change(e.target.value as Processing['mode'])}
          className="rounded border border-slate-300 px-2 py-1"
        >
          <option value="parallel">Parallel: VMs of a job run at once, within mover and repository limits</option>
          <option value="sequential">Sequential: one disk of a job at a time</option>
        </select>
      </label>
      {error && (
        <p role="alert" className="mt-2 text-red-700">
          {error.text}
        </p>
      )}
    </div>
  );
}
