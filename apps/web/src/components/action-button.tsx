'use client';

import { useState } from 'react';
import { api } from './api-client';

/** A button that POSTs to the API and says what happened next to itself. */
export function ActionButton({ path, label, done }: { path: string; label: string; done: string }) {
  const [said, setSaid] = useState<{ ok: boolean; text: string } | null>(null);
  return (
    <span className="space-x-2">
      <button
        type="button"
        className="text-sky-700 underline"
        onClick={() => {
          setSaid(null);
          api('POST', path).then(
            () => setSaid({ ok: true, text: done }),
            (e: unknown) => setSaid({ ok: false, text: e instanceof Error ? e.message : String(e) }),
          );
        }}
      >
        {label}
      </button>
      {said && (
        <span role="status" className={`text-xs ${said.ok ? 'text-emerald-700' : 'text-red-700'}`}>
          {said.text}
        </span>
      )}
    </span>
  );
}
